"""`maestro doctor` names every problem a lane would hit, before any lane runs."""

from __future__ import annotations

import subprocess
from pathlib import Path

from maestro.operator.doctor import run_doctor
from tests.conftest import Sandbox


def doctor(sandbox: Sandbox) -> tuple[int, list[str]]:
    lines: list[str] = []
    code = run_doctor(sandbox.repo / "maestro.toml", say=lines.append)
    return code, lines


def failures(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("FAIL")]


def test_a_healthy_sandbox_passes(sandbox: Sandbox) -> None:
    code, lines = doctor(sandbox)
    assert (code, failures(lines)) == (0, [])
    assert lines[-1] == "doctor: lanes can run here"


def test_a_repository_without_origin_is_named(sandbox: Sandbox) -> None:
    subprocess.run(["git", "remote", "remove", "origin"], cwd=sandbox.repo, check=True)
    code, lines = doctor(sandbox)
    assert code == 1
    assert failures(lines) == ["FAIL  git remote 'origin': the repository has no remote "
                               "'origin' (add it: git remote add origin URL; or set "
                               "forge.remote in WORKFLOW.md)"]


def test_a_base_branch_missing_on_origin_is_named(sandbox: Sandbox) -> None:
    sandbox.edit_workflow('base_branch = "main"', 'base_branch = "trunk"')
    code, lines = doctor(sandbox)
    assert code == 1
    assert [line.split(":")[0] for line in failures(lines)] == [
        "FAIL  base branch 'trunk' on 'origin'"]
    assert "'trunk' does not exist on git remote 'origin'" in failures(lines)[0]


def test_a_missing_agent_command_is_named(sandbox: Sandbox) -> None:
    config = sandbox.repo / "maestro.toml"
    config.write_text(config.read_text().replace('"python -m maestro.agents.scripted"',
                                                 '"no-such-agent-xyz app-server"'))
    code, lines = doctor(sandbox)
    assert code == 1
    assert failures(lines) == ["FAIL  agent command: agent command 'no-such-agent-xyz' was "
                               "not found on PATH (agent.command in maestro.toml)"]


def test_every_problem_is_named_in_the_last_line(sandbox: Sandbox) -> None:
    subprocess.run(["git", "remote", "remove", "origin"], cwd=sandbox.repo, check=True)
    config = sandbox.repo / "maestro.toml"
    config.write_text(config.read_text().replace('"python -m maestro.agents.scripted"',
                                                 '"no-such-agent-xyz"'))
    proc = sandbox.maestro("doctor")
    assert proc.returncode == 1
    assert proc.stdout.splitlines()[-1] == ("doctor: 2 problems: git remote 'origin', "
                                            "agent command")


def test_outside_a_project_the_config_check_fails(tmp_path: Path) -> None:
    lines: list[str] = []
    assert run_doctor(tmp_path / "nowhere.toml", say=lines.append) == 1
    assert lines[0].startswith("FAIL  maestro.toml:") and "config file not found" in lines[0]


def test_the_workflow_named_on_the_command_line_is_the_one_checked(sandbox: Sandbox,
                                                                   tmp_path: Path) -> None:
    bad = tmp_path / "WORKFLOW.md"
    bad.write_text((sandbox.repo / "WORKFLOW.md").read_text() + "\n{{ issue.titel }}\n")
    lines: list[str] = []
    code = run_doctor(sandbox.repo / "maestro.toml", say=lines.append, workflow=bad)
    assert code == 1
    assert any("titel" in line for line in failures(lines))
