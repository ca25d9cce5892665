"""Static smoke checks of every shipped skill, agent role and plugin.

Each test runs one check from :mod:`maestro.assets.shipped` on the asset tree under test and
prints the problems it found, one line per file, so a failure says what to fix.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from smoke import ASSETS_ROOT

from maestro.assets import shipped
from maestro.lanes.record.comments import checkpoints
from maestro.model import Comment

SKILLS = shipped.skill_dirs(ASSETS_ROOT)
ROLES = shipped.agent_files(ASSETS_ROOT)
EXPECTED_SKILLS = {"maestro-lane", "execution-state", "scout-skeptic", "review-repair",
                   "research"}
CHECKPOINT = ASSETS_ROOT / ".codex/skills/execution-state/scripts/checkpoint.py"


def report(problems: list[shipped.Problem]) -> str:
    return "\n".join(str(p) for p in problems)


def test_the_required_skills_are_shipped() -> None:
    assert {skill.name for skill in SKILLS} >= EXPECTED_SKILLS


@pytest.mark.parametrize("skill", SKILLS, ids=[s.name for s in SKILLS])
def test_skill_front_matter_and_references_are_valid(skill: Path) -> None:
    problems = shipped.check_skill(skill, ASSETS_ROOT)
    assert not problems, report(problems)


@pytest.mark.parametrize("skill", SKILLS, ids=[s.name for s in SKILLS])
def test_skill_json_files_parse_and_schemas_are_valid(skill: Path) -> None:
    problems = shipped.check_skill_json(skill, ASSETS_ROOT)
    assert not problems, report(problems)


@pytest.mark.parametrize("skill", SKILLS, ids=[s.name for s in SKILLS])
def test_skill_scripts_run(skill: Path) -> None:
    problems = shipped.run_scripts(skill, ASSETS_ROOT)
    assert not problems, report(problems)


@pytest.mark.parametrize("role", ROLES, ids=[r.stem for r in ROLES])
def test_agent_role_is_valid(role: Path) -> None:
    problems = shipped.check_agent(role, ASSETS_ROOT)
    assert not problems, report(problems)


def test_scout_and_skeptic_roles_are_shipped() -> None:
    assert {"scout", "skeptic"} <= {role.stem for role in ROLES}


def test_config_example_is_unattended_and_holds_no_credentials() -> None:
    problems = shipped.check_config_example(ASSETS_ROOT)
    assert not problems, report(problems)


def test_marketplace_validates_against_its_schema() -> None:
    schema = json.loads((ASSETS_ROOT / shipped.MARKETPLACE_SCHEMA).read_text())
    document = json.loads((ASSETS_ROOT / shipped.MARKETPLACE).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(document)


def test_marketplace_agrees_with_the_files_it_lists() -> None:
    problems = shipped.check_marketplace(ASSETS_ROOT)
    assert not problems, report(problems)


def test_marketplace_lists_every_shipped_skill_with_a_version() -> None:
    document = json.loads((ASSETS_ROOT / shipped.MARKETPLACE).read_text())
    listed = {entry["name"]: entry["version"] for plugin in document["plugins"]
              for entry in plugin["skills"]}
    assert set(listed) == {skill.name for skill in SKILLS}


def test_checkpoint_script_output_is_what_maestro_parses() -> None:
    proc = subprocess.run([sys.executable, "-B", str(CHECKPOINT), "render", "--phase", "verify",
                           "--focus", "smoke", "--next-action", "hand off",
                           "--evidence", "dev/test_smoke_assets.py",
                           "--verification", "nox -s smoke: passed"],
                          capture_output=True, text=True, check=True)
    parsed = checkpoints([Comment(id="1", body=proc.stdout)])
    assert parsed == [{"kind": "checkpoint", "phase": "verify", "focus": "smoke",
                       "next_action": "hand off", "blockers": [],
                       "evidence": ["dev/test_smoke_assets.py"],
                       "verification": ["nox -s smoke: passed"]}]


def test_checkpoint_script_rejects_a_block_without_next_action(tmp_path: Path) -> None:
    body = tmp_path / "body.md"
    body.write_text('```maestro-checkpoint\n{"phase": "plan", "focus": "x", "blockers": [],'
                    ' "evidence": [], "verification": []}\n```\n')
    proc = subprocess.run([sys.executable, "-B", str(CHECKPOINT), "validate", str(body)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 1
    assert f"{body}: next_action must be a non-empty string" in proc.stderr


def test_checkpoint_script_rejects_absolute_host_paths() -> None:
    proc = subprocess.run([sys.executable, "-B", str(CHECKPOINT), "render", "--phase", "plan",
                           "--focus", "x", "--next-action", "y",
                           "--evidence", "/home/someone/repo/file.py"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 1
    assert "absolute host path" in proc.stderr


def maestro_cli(*args: str, cwd: Path, env: dict[str, str] | None = None
                ) -> subprocess.CompletedProcess[str]:
    """Run the installed maestro from a folder outside the checkout (no source shadowing)."""
    return subprocess.run([sys.executable, "-m", "maestro", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60, check=False)


def test_installed_maestro_finds_and_passes_its_own_assets(tmp_path: Path) -> None:
    proc = maestro_cli("assets", "check", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("assets ok")


def test_assets_install_defaults_to_codex_home_from_the_environment(tmp_path: Path) -> None:
    home = tmp_path / "codex-home"
    proc = maestro_cli("assets", "install", cwd=tmp_path,
                       env={**os.environ, "CODEX_HOME": str(home)})
    assert proc.returncode == 0, proc.stderr
    assert {p.name for p in (home / "skills").iterdir()} == {s.name for s in SKILLS}
    assert {p.name for p in (home / "agents").iterdir()} == {r.name for r in ROLES}


def test_assets_install_twice_replaces_its_copies_and_keeps_other_skills(tmp_path: Path) -> None:
    home = tmp_path / "codex-home"
    mine = home / "skills" / "my-own-skill"
    mine.mkdir(parents=True)
    (mine / "SKILL.md").write_text("---\nname: my-own-skill\ndescription: mine\n---\nMine.\n")
    shipped.install(home, ASSETS_ROOT)
    stale = home / "skills" / "maestro-lane" / "stale.txt"
    stale.write_text("left over")
    shipped.install(home, ASSETS_ROOT)
    assert not stale.exists()
    assert (mine / "SKILL.md").exists()
    assert not list((home / "skills").glob(".*")), "no staging folders left behind"
