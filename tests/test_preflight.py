"""The preflight's pure checks, each on a real git remote or a real PATH."""

from __future__ import annotations

import subprocess
from pathlib import Path

from maestro.lanes.preflight import agent_problem, remote_problem
from maestro.lanes.worktree import remote_heads


def bare_with_main(tmp_path: Path) -> Path:
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
    work = tmp_path / "work"
    subprocess.run(["git", "init", "-q", "-b", "main", str(work)], check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q",
                    "--allow-empty", "-m", "init"], cwd=work, check=True)
    subprocess.run(["git", "remote", "add", "origin", "../origin.git"], cwd=work, check=True)
    subprocess.run(["git", "push", "-q", "origin", "main"], cwd=work, check=True)
    return work


def test_a_reachable_remote_with_the_base_branch_passes(tmp_path: Path) -> None:
    assert remote_problem(bare_with_main(tmp_path), "origin", "main") is None


def test_a_missing_base_branch_is_named(tmp_path: Path) -> None:
    problem = remote_problem(bare_with_main(tmp_path), "origin", "trunk")
    assert problem is not None and "'trunk' does not exist on git remote 'origin'" in problem


def test_a_missing_remote_is_reported_in_gits_words(tmp_path: Path) -> None:
    problem = remote_problem(bare_with_main(tmp_path), "upstream", "main")
    assert problem is not None and problem.startswith("git remote 'upstream' cannot be read:")
    assert "'upstream' does not appear to be a git repository" in problem


def test_credentials_in_a_remote_url_never_reach_the_message(tmp_path: Path) -> None:
    work = bare_with_main(tmp_path)
    subprocess.run(["git", "remote", "add", "secret",
                    "http://user:hunter2@127.0.0.1:9/r.git"], cwd=work, check=True)
    problem = remote_problem(work, "secret", "main")
    assert problem is not None and "hunter2" not in problem


def test_an_agent_command_is_looked_up_like_exec_does(tmp_path: Path) -> None:
    assert agent_problem(["sh", "-c", "true"]) is None
    assert agent_problem(["no-such-agent-xyz"]) is not None
    assert agent_problem([str(tmp_path / "missing" / "agent")]) is not None
    assert agent_problem([]) == "agent.command is empty"


def test_the_lane_branch_asked_alongside_is_remembered_absent(tmp_path: Path) -> None:
    work = bare_with_main(tmp_path)
    assert remote_problem(work, "origin", "main", lane_branch="maestro/abc-1") is None
    assert remote_heads.take(work, "origin", "main") is not None
    assert remote_heads.take_absent(work, "origin", "maestro/abc-1")


def test_a_lane_branch_on_the_remote_is_remembered_with_its_commit(tmp_path: Path) -> None:
    work = bare_with_main(tmp_path)
    subprocess.run(["git", "push", "-q", "origin", "main:maestro/abc-1"], cwd=work, check=True)
    assert remote_problem(work, "origin", "main", lane_branch="maestro/abc-1") is None
    assert not remote_heads.take_absent(work, "origin", "maestro/abc-1")


def test_a_missing_base_is_named_even_when_the_lane_branch_exists(tmp_path: Path) -> None:
    work = bare_with_main(tmp_path)
    subprocess.run(["git", "push", "-q", "origin", "main:maestro/abc-1"], cwd=work, check=True)
    problem = remote_problem(work, "origin", "trunk", lane_branch="maestro/abc-1")
    assert problem is not None and "'trunk' does not exist on git remote 'origin'" in problem
