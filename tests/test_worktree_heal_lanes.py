"""A lane whose worktree or branch was damaged between runs heals and goes on.

Each case damages the world the way a kill or a person does, runs the lane again and
checks that it delivers with nothing lost (see ``test_worktree_health.py`` for the rules)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from maestro.lanes.context import LaneContext
from maestro.lanes.worktree.worktree_guard import branch_sources
from tests.conftest import Sandbox
from tests.test_phases import doit

SCRIPT = """
steps:
  - write: {path: a.txt, content: "a\\n"}
  - commit: "add a"
  - handoff: "done"
repair:
  - append: {path: a.txt, content: "reviewed\\n"}
  - commit: "address review"
  - repair_complete: "review addressed"
"""


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout.strip()


def journal_events(sandbox: Sandbox, identifier: str, event: str) -> list[dict[str, str]]:
    path = sandbox.repo / ".maestro" / "lanes" / identifier / "journal.jsonl"
    return [r for line in path.read_text().splitlines()
            if (r := json.loads(line)).get("event") == event]


def test_a_half_created_worktree_is_recreated_and_no_file_is_lost_on_origin(
        sandbox: Sandbox) -> None:
    sandbox.add_issue("WH-1", script=SCRIPT)
    tracked = set(git(sandbox.repo, "ls-tree", "-r", "--name-only", "main").splitlines())
    # What a kill inside `git worktree add` leaves: the branch, a .git file, no checkout.
    git(sandbox.repo, "worktree", "add", "-q", "--no-checkout", "-b", "maestro/wh-1",
        ".worktrees/WH-1", "main")
    (sandbox.repo / ".git" / "worktrees" / "WH-1" / "locked").write_text("initializing\n")
    sandbox.lane("WH-1")
    sandbox.approve("WH-1")
    sandbox.lane("WH-1")
    assert sandbox.outcome("WH-1") == "finished"
    on_main = set(git(sandbox.origin, "ls-tree", "-r", "--name-only", "main").splitlines())
    assert tracked | {"a.txt"} <= on_main
    assert any("initializing" in e["step"]
               for e in journal_events(sandbox, "WH-1", "worktree_healed"))


def test_a_worktree_deleted_before_the_agent_is_recreated_and_the_lane_hands_off(
        sandbox: Sandbox) -> None:
    sandbox.add_issue("WH-2", script=SCRIPT)
    for phase in ("claim", "prepare"):
        assert doit(sandbox, f"{phase}:WH-2").returncode == 0
    shutil.rmtree(sandbox.repo / ".worktrees" / "WH-2")
    sandbox.lane("WH-2")
    assert sandbox.issue("WH-2").state == "In Review"
    assert sandbox.origin_file("a.txt", "maestro/wh-2") == "a\n"


def test_a_worktree_deleted_after_validation_is_recreated_for_the_handoff(
        sandbox: Sandbox) -> None:
    sandbox.add_issue("WH-3", script=SCRIPT)
    for phase in ("claim", "prepare", "agent", "validate"):
        assert doit(sandbox, f"{phase}:WH-3").returncode == 0
    shutil.rmtree(sandbox.repo / ".worktrees" / "WH-3")
    assert doit(sandbox, "handoff:WH-3").returncode == 0
    assert sandbox.issue("WH-3").state == "In Review"


def test_a_worktree_without_its_git_file_or_registration_is_set_aside_and_the_lane_goes_on(
        sandbox: Sandbox) -> None:
    """Carried N3: a folder git no longer knows and whose ``.git`` is gone was refused
    ("move it away"), and the lane stopped for a person; the lane's own record says
    maestro made it, so it is kept aside whole and the lane hands off."""
    sandbox.add_issue("WH-9", script=SCRIPT)
    for phase in ("claim", "prepare", "agent", "validate"):
        assert doit(sandbox, f"{phase}:WH-9").returncode == 0
    worktree = sandbox.repo / ".worktrees" / "WH-9"
    (worktree / "notes.md").write_text("a person's notes\n")
    (worktree / ".git").unlink()
    git(sandbox.repo, "worktree", "prune")
    assert doit(sandbox, "handoff:WH-9").returncode == 0
    assert sandbox.issue("WH-9").state == "In Review"
    (kept,) = [p for p in worktree.parent.iterdir() if ".set-aside-" in p.name]
    assert (kept / "notes.md").read_text() == "a person's notes\n"
    status = json.loads(sandbox.maestro("status", "--json").stdout)
    assert [(k["issue"], k["kind"]) for k in status["kept_work"]] == [("WH-9", "set_aside")]


def test_a_missing_local_branch_is_found_on_origin_and_the_repair_goes_on(
        sandbox: Sandbox) -> None:
    sandbox.add_issue("WH-4", script=SCRIPT)
    sandbox.lane("WH-4")
    pushed = git(sandbox.origin, "rev-parse", "maestro/wh-4")
    git(sandbox.repo, "worktree", "remove", "--force", ".worktrees/WH-4")
    git(sandbox.repo, "branch", "-D", "maestro/wh-4")
    ctx = LaneContext(sandbox.config, "WH-4")
    try:
        sources = dict((label, sha) for label, sha in branch_sources(ctx))
    finally:
        ctx.close()
    assert sources["origin/maestro/wh-4"] == pushed
    assert sources["the head of PR #1"] == pushed
    sandbox.maestro("review", "request-changes", "WH-4", "--comment", "more", check=True)
    sandbox.lane("WH-4")
    assert sandbox.lane_file("WH-4", "pr.json")["repair_rounds"] == 1
    assert sandbox.origin_file("a.txt", "maestro/wh-4") == "a\nreviewed\n"


def test_a_lane_branch_gone_everywhere_but_the_pr_is_restored_from_the_pr_head(
        sandbox: Sandbox) -> None:
    sandbox.add_issue("WH-5", script=SCRIPT)
    sandbox.lane("WH-5")
    pushed = git(sandbox.origin, "rev-parse", "maestro/wh-5")
    git(sandbox.repo, "worktree", "remove", "--force", ".worktrees/WH-5")
    git(sandbox.repo, "branch", "-D", "maestro/wh-5")
    git(sandbox.repo, "update-ref", "-d", "refs/remotes/origin/maestro/wh-5")
    git(sandbox.origin, "update-ref", "-d", "refs/heads/maestro/wh-5")
    (sandbox.repo / ".maestro" / "lanes" / "WH-5" / "sessions.json").unlink()
    ctx = LaneContext(sandbox.config, "WH-5")
    try:
        assert branch_sources(ctx) == [("the head of PR #1", pushed)]
    finally:
        ctx.close()


def test_a_lane_killed_between_registering_and_checking_out_its_worktree_loses_nothing(
        sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.add_issue("WH-6", script=SCRIPT)
    tracked = set(git(sandbox.repo, "ls-tree", "-r", "--name-only", "main").splitlines())
    env = {"MAESTRO_FAULT_KILL": "worktree:registered",
           "MAESTRO_FAULT_ONCE": str(tmp_path / "fired")}
    assert sandbox.lane("WH-6", env=env).returncode == -9
    assert not (sandbox.repo / ".worktrees" / "WH-6" / "README.md").exists()
    sandbox.lane("WH-6", env=env)
    sandbox.approve("WH-6")
    sandbox.lane("WH-6", env=env)
    assert sandbox.outcome("WH-6") == "finished"
    on_main = set(git(sandbox.origin, "ls-tree", "-r", "--name-only", "main").splitlines())
    assert tracked | {"a.txt"} <= on_main
