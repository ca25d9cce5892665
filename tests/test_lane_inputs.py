"""Odd inputs at the lane's door: a relative ``origin`` URL, an identifier the tracker does
not know, a state the workflow does not name."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from maestro.git import relative_remote_rewrites
from tests.conftest import Sandbox


def test_a_relative_origin_url_lets_the_lane_reach_review(sandbox: Sandbox) -> None:
    relative = os.path.relpath(sandbox.origin, sandbox.repo)
    subprocess.run(["git", "remote", "set-url", "origin", relative], cwd=sandbox.repo,
                   check=True)
    sandbox.add_issue("IN-1")
    sandbox.lane("IN-1")
    assert sandbox.issue("IN-1").state == "In Review"
    assert sandbox.origin_file("README.md", ref="maestro/in-1") is not None


def test_the_agents_git_resolves_a_relative_origin_from_the_repository_root(
        sandbox: Sandbox) -> None:
    relative = os.path.relpath(sandbox.origin, sandbox.repo)
    subprocess.run(["git", "remote", "set-url", "origin", relative], cwd=sandbox.repo,
                   check=True)
    worktree = sandbox.repo / ".worktrees" / "IN-2"
    subprocess.run(["git", "worktree", "add", "-q", "-b", "lane", str(worktree)],
                   cwd=sandbox.repo, check=True)
    rewrites = relative_remote_rewrites(sandbox.repo)
    assert rewrites == {f"url.{sandbox.origin.resolve()}.insteadOf": relative}
    env = {**os.environ, "GIT_CONFIG_COUNT": str(len(rewrites))}
    for index, (key, value) in enumerate(rewrites.items()):
        env[f"GIT_CONFIG_KEY_{index}"] = key
        env[f"GIT_CONFIG_VALUE_{index}"] = value
    fetched = subprocess.run(["git", "fetch", "-q", "origin", "main"], cwd=worktree, env=env,
                             capture_output=True, text=True)
    assert fetched.returncode == 0, fetched.stderr


def test_absolute_and_network_remotes_need_no_rewrite(sandbox: Sandbox) -> None:
    subprocess.run(["git", "remote", "add", "gh", "git@github.com:o/r.git"], cwd=sandbox.repo,
                   check=True)
    subprocess.run(["git", "remote", "add", "web", "https://example.invalid/r.git"],
                   cwd=sandbox.repo, check=True)
    assert relative_remote_rewrites(sandbox.repo) == {}


def test_an_unknown_identifier_exits_2_and_writes_no_lane_folder(sandbox: Sandbox) -> None:
    sandbox.add_issue("IN-3")
    proc = sandbox.lane("IN-99")
    assert proc.returncode == 2
    assert "IN-99" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (sandbox.repo / ".maestro" / "lanes" / "IN-99").exists()


def test_doit_with_an_unknown_identifier_exits_2_and_writes_no_lane_folder(
        sandbox: Sandbox) -> None:
    proc = subprocess.run([sys.executable, "-m", "doit", "lane:IN-98"], cwd=sandbox.repo,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "IN-98" in proc.stderr and "Traceback" not in proc.stderr
    assert not (sandbox.repo / ".maestro" / "lanes" / "IN-98").exists()


def test_issue_move_refuses_a_state_the_workflow_does_not_name(sandbox: Sandbox) -> None:
    sandbox.add_issue("IN-4")
    proc = sandbox.maestro("issue", "move", "IN-4", "Revieww")
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "'Revieww' is not named by the workflow" in proc.stderr
    assert sandbox.issue("IN-4").state == "Todo"


def test_issue_move_uses_the_workflows_spelling_of_a_named_state(sandbox: Sandbox) -> None:
    sandbox.add_issue("IN-5")
    sandbox.maestro("issue", "move", "IN-5", "in review", check=True)
    assert sandbox.issue("IN-5").state == "In Review"


def test_issue_move_force_allows_a_tracker_state_outside_the_workflow(sandbox: Sandbox) -> None:
    sandbox.add_issue("IN-6")
    sandbox.maestro("issue", "move", "IN-6", "Icebox", "--force", check=True)
    assert sandbox.issue("IN-6").state == "Icebox"


def test_a_foreign_folder_among_the_lanes_stops_nothing(sandbox: Sandbox) -> None:
    sandbox.add_issue("IN-7")
    stray = sandbox.repo / ".maestro" / "lanes" / "IN-7 copy"
    stray.mkdir(parents=True)
    status = sandbox.maestro("status", "--json")
    assert status.returncode == 0
    [warning] = json.loads(status.stdout)["warnings"]
    assert warning.startswith(f"{stray}: not a lane folder")
    sandbox.maestro("run", "--once", check=True)
    assert sandbox.issue("IN-7").state == "In Review"
    assert stray.is_dir()  # a person's copy is theirs: reported, never removed
