"""The real ``codex`` finds what ``maestro assets install`` and the marketplace ship.

Skipped, with the reason, where no ``codex`` binary is installed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from smoke import ASSETS_ROOT, app_server_call, find_codex, run_codex

from maestro.assets import shipped

CODEX = find_codex()
pytestmark = [
    pytest.mark.codex,
    pytest.mark.skipif(CODEX is None, reason="the real codex is not installed (not on PATH, "
                       "not in .ci/node, not in /tmp/codexnpm)"),
]
SHIPPED = {skill.name for skill in shipped.skill_dirs(ASSETS_ROOT)}


def install(codex_home: Path) -> None:
    subprocess.run([sys.executable, "-m", "maestro", "assets", "install", "--codex-home",
                    str(codex_home)], check=True, capture_output=True, text=True, timeout=60)


def test_real_codex_lists_the_installed_skills(tmp_path: Path) -> None:
    assert CODEX is not None
    home, cwd = tmp_path / "codex-home", tmp_path / "work"
    cwd.mkdir()
    install(home)
    result = app_server_call(CODEX, home, cwd, "skills/list",
                             {"cwds": [str(cwd)], "forceReload": True})
    entry = result["data"][0]
    found = {skill["name"]: skill for skill in entry["skills"]}
    assert set(found) >= SHIPPED, f"codex lists {sorted(found)}"
    for name in SHIPPED:
        assert found[name]["scope"] == "user"
        assert Path(found[name]["path"]).resolve() == (home / "skills" / name / "SKILL.md"
                                                       ).resolve()
    assert not entry.get("errors"), entry["errors"]


def test_real_codex_installs_the_maestro_plugin_from_the_marketplace(tmp_path: Path) -> None:
    assert CODEX is not None
    home, market = tmp_path / "codex-home", tmp_path / "market"
    home.mkdir()
    shutil.copytree(ASSETS_ROOT / ".codex", market / ".codex",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ASSETS_ROOT / ".agents", market / ".agents")
    added = run_codex(CODEX, home, tmp_path, "plugin", "marketplace", "add", str(market))
    assert added.returncode == 0, added.stderr
    installed = run_codex(CODEX, home, tmp_path, "plugin", "add", "maestro@maestro")
    assert installed.returncode == 0, installed.stderr
    listing = run_codex(CODEX, home, tmp_path, "plugin", "list")
    line = next(row for row in listing.stdout.splitlines() if row.startswith("maestro@maestro"))
    assert "installed, enabled" in line and "0.1.0" in line
    result = app_server_call(CODEX, home, tmp_path, "skills/list",
                             {"cwds": [str(tmp_path)], "forceReload": True})
    names = {skill["name"] for skill in result["data"][0]["skills"]}
    assert {f"maestro:{name}" for name in SHIPPED} <= names, sorted(names)


def test_real_codex_loads_the_config_example_as_unattended(tmp_path: Path) -> None:
    assert CODEX is not None
    home = tmp_path / "codex-home"
    home.mkdir()
    shutil.copyfile(ASSETS_ROOT / shipped.CONFIG_EXAMPLE, home / "config.toml")
    result = app_server_call(CODEX, home, tmp_path, "config/read", {"cwd": str(tmp_path)})
    config = result["config"]
    assert config.get("approval_policy") == "never", config
    assert config.get("sandbox_mode") == "workspace-write", config
    assert config["sandbox_workspace_write"]["network_access"] is False
    assert "*TOKEN*" in config["shell_environment_policy"]["exclude"]
