"""The smoke checks fail, naming the file, when a shipped asset is broken.

Each test breaks one thing in a copy of the asset tree and runs the checks on the copy: the
library call (what ``maestro assets check`` prints) and the smoke suite itself (what
``nox -s smoke`` runs), pointed at the copy through ``MAESTRO_ASSETS_ROOT``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from smoke import ASSETS_ROOT

from maestro.assets import shipped

LANE_SKILL = ".codex/skills/maestro-lane/SKILL.md"
STATE_SKILL = ".codex/skills/execution-state/SKILL.md"
RUN_SCHEMA = ".codex/skills/research/references/run.schema.json"
SMOKE_SUITE = Path(__file__).with_name("test_smoke_assets.py")


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A private copy of the shipped asset tree to break."""
    root = tmp_path / "assets"
    for folder in (".codex", ".agents"):
        shutil.copytree(ASSETS_ROOT / folder, root / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
    return root


def break_front_matter(root: Path) -> None:
    path = root / LANE_SKILL
    path.write_text(path.read_text().replace("name: maestro-lane", "name: [maestro-lane", 1))


def remove_referenced_script(root: Path) -> None:
    (root / ".codex/skills/execution-state/scripts/checkpoint.py").unlink()


def run_smoke_suite(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", str(SMOKE_SUITE), "-q",
                           "-p", "no:cacheprovider"],
                          capture_output=True, text=True, timeout=120, check=False,
                          cwd=root, env={**os.environ, "MAESTRO_ASSETS_ROOT": str(root)})


def test_the_unbroken_copy_passes(copy: Path) -> None:
    assert shipped.check_all(copy) == []


def test_broken_front_matter_is_reported_with_the_file_name(copy: Path) -> None:
    break_front_matter(copy)
    messages = [str(p) for p in shipped.check_all(copy)]
    assert any(m.startswith(f"{LANE_SKILL}: front matter: invalid YAML") for m in messages), \
        messages


def test_missing_referenced_file_is_reported_with_the_file_name(copy: Path) -> None:
    remove_referenced_script(copy)
    messages = [str(p) for p in shipped.check_all(copy)]
    assert f"{STATE_SKILL}: references 'scripts/checkpoint.py', which does not exist" \
        in messages


def test_smoke_suite_fails_on_broken_front_matter_naming_the_file(copy: Path) -> None:
    break_front_matter(copy)
    proc = run_smoke_suite(copy)
    assert proc.returncode != 0
    assert f"{LANE_SKILL}: front matter: invalid YAML" in proc.stdout


def test_smoke_suite_fails_on_a_missing_referenced_file_naming_the_file(copy: Path) -> None:
    remove_referenced_script(copy)
    proc = run_smoke_suite(copy)
    assert proc.returncode != 0
    assert f"{STATE_SKILL}: references 'scripts/checkpoint.py', which does not exist" \
        in proc.stdout


def test_install_refuses_broken_assets_and_names_the_file(copy: Path, tmp_path: Path) -> None:
    break_front_matter(copy)
    with pytest.raises(shipped.AssetsError, match=LANE_SKILL):
        shipped.install(tmp_path / "codex-home", copy)
    assert not (tmp_path / "codex-home").exists()


def test_marketplace_entry_without_a_version_fails_the_schema(copy: Path) -> None:
    path = copy / shipped.MARKETPLACE
    path.write_text(path.read_text().replace('"version": "0.1.0", "path"', '"path"', 1))
    messages = [str(p) for p in shipped.check_marketplace(copy)]
    assert any(m.startswith(f"{shipped.MARKETPLACE}: schema: plugins.0.skills.0:")
               and "'version' is a required property" in m for m in messages), messages


def test_unlisted_skill_folder_fails_the_marketplace_check(copy: Path) -> None:
    extra = copy / ".codex/skills/extra-skill"
    extra.mkdir()
    (extra / "SKILL.md").write_text("---\nname: extra-skill\ndescription: x\n---\nDo x.\n")
    messages = [str(p) for p in shipped.check_marketplace(copy)]
    assert any(".codex/skills/extra-skill is not listed" in m for m in messages), messages


def test_invalid_json_schema_in_a_skill_is_reported_with_the_file_name(copy: Path) -> None:
    path = copy / RUN_SCHEMA
    path.write_text(path.read_text().replace('"minimum": 1', '"minimum": "one"', 1))
    messages = [str(p) for p in shipped.check_all(copy, scripts=False)]
    assert any(m.startswith(f"{RUN_SCHEMA}: not a valid JSON Schema: properties.budget.")
               for m in messages), messages


def test_unparsable_json_in_a_skill_blocks_install_naming_the_file(copy: Path,
                                                                  tmp_path: Path) -> None:
    (copy / RUN_SCHEMA).write_text("{")
    with pytest.raises(shipped.AssetsError, match=f"{RUN_SCHEMA}: invalid JSON"):
        shipped.install(tmp_path / "codex-home", copy)
