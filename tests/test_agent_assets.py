"""``maestro assets install`` puts the shipped skills where the configured agent reads them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from maestro.assets.homes import agent_for, install_claude
from maestro.assets.shipped import AssetsError, assets_root, skill_dirs


@pytest.mark.parametrize(("transport", "command", "agent"), [
    ("app-server", None, "codex"),
    ("app-server", "codex app-server", "codex"),
    ("claude-code", None, "claude"),
    ("claude-code", "claude --model x", "claude"),
    ("acp", None, "claude"),
    ("acp", "/opt/bin/claude-agent-acp --verbose", "claude"),
])
def test_the_transport_names_the_agent_whose_home_gets_the_assets(
        transport: str, command: str | None, agent: str) -> None:
    assert agent_for(transport, command) == agent


def test_an_acp_agent_without_a_known_skills_folder_is_refused_by_name() -> None:
    with pytest.raises(AssetsError, match=r"'gemini'.*--agent"):
        agent_for("acp", "gemini --experimental-acp")


def test_claude_skills_land_as_skill_folders_and_leave_other_skills_alone(
        tmp_path: Path) -> None:
    mine = tmp_path / "skills" / "mine" / "SKILL.md"
    mine.parent.mkdir(parents=True)
    mine.write_text("---\nname: mine\ndescription: kept\n---\nmine\n")
    written = install_claude(tmp_path)
    names = sorted(skill.name for skill in skill_dirs(assets_root()))
    assert [path.name for path in written] == names
    for name in names:
        assert (tmp_path / "skills" / name / "SKILL.md").is_file()
    assert mine.read_text().endswith("mine\n")
    assert not (tmp_path / "agents").exists()  # Codex roles are Codex's format


def test_assets_install_follows_the_configured_claude_code_transport(tmp_path: Path) -> None:
    (tmp_path / "maestro.toml").write_text('[agent]\ntransport = "claude-code"\n')
    home = tmp_path / "claude-home"
    env = {**os.environ, "CLAUDE_CONFIG_DIR": str(home),
           "CODEX_HOME": str(tmp_path / "codex-home")}
    proc = subprocess.run([sys.executable, "-m", "maestro", "assets", "install"],
                          cwd=tmp_path, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert f"installed {home / 'skills' / 'maestro-lane'}" in proc.stdout
    assert (home / "skills" / "maestro-lane" / "SKILL.md").is_file()
    assert not (tmp_path / "codex-home").exists()


def test_a_codex_home_on_the_command_line_wins_over_the_configured_transport(
        tmp_path: Path) -> None:
    (tmp_path / "maestro.toml").write_text('[agent]\ntransport = "claude-code"\n')
    home = tmp_path / "codex-home"
    proc = subprocess.run([sys.executable, "-m", "maestro", "assets", "install",
                           "--codex-home", str(home)], cwd=tmp_path,
                          env={**os.environ, "CLAUDE_CONFIG_DIR": str(tmp_path / "claude")},
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert (home / "skills" / "maestro-lane" / "SKILL.md").is_file()
    assert (home / "agents" / "scout.toml").is_file()
    assert not (tmp_path / "claude").exists()
