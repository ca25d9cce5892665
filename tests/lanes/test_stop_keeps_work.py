"""A lane stopped by a person's move in the tracker keeps the work that exists nowhere else.

``maestro cancel`` always kept a worktree holding commits no branch of the remote has, or
uncommitted files (``maestro/lanes/worktree/unpushed.py``). The same cancel made in the
tracker went through other removal paths, which deleted the worktree and the lane branch
whatever they held: the guard's stop at the agent's next side effect, the poll loop's
reconcile of a lane moved to Done, the startup sweep of terminal issues' workspaces. Each
path now keeps what only the lane has and says so in ``cleanup.json`` (``worktree_kept``).

A "person" acts from inside the agent's script (a ``run`` step edits the issue file), so the
move lands exactly between two of the agent's steps.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import Sandbox

pytestmark = pytest.mark.slow


def move_step(identifier: str, state: str) -> str:
    return f"  - run: \"sed -i 's/^state: .*/state: {state}/' ../../issues/{identifier}.md\"\n"


def commits_then_moves(box: Sandbox, identifier: str, state: str) -> None:
    """The agent commits ``keepme`` (never pushed), then a person moves the issue to
    ``state``, then the agent's next tool call meets the lane's look at the issue."""
    box.add_issue(identifier, script=(
        "steps:\n  - write: {path: a.txt, content: \"a\\n\"}\n  - commit: keepme\n"
        + move_step(identifier, state) + "  - comment: \"still working\"\n"
        "  - handoff: done\n"))
    box.lane(identifier)


def branch_commits(box: Sandbox, branch: str) -> list[str]:
    out = subprocess.run(["git", "log", "--format=%s", branch, "--not", "--remotes=origin"],
                         cwd=box.repo, capture_output=True, text=True, check=False)
    return out.stdout.split() if out.returncode == 0 else []


def test_a_cancel_in_the_tracker_mid_agent_keeps_an_unpushed_commit(sandbox: Sandbox) -> None:
    commits_then_moves(sandbox, "KW-1", "Canceled")
    assert sandbox.outcome("KW-1") == "terminated"
    worktree = sandbox.repo / ".worktrees" / "KW-1"
    assert (worktree / "a.txt").read_text() == "a\n"
    assert branch_commits(sandbox, "maestro/kw-1") == ["keepme"]
    kept = sandbox.lane_file("KW-1", "cleanup.json")["worktree_kept"]
    assert "1 commit not on origin" in kept


def test_a_cancel_in_the_tracker_with_nothing_unpushed_removes_the_worktree(
        sandbox: Sandbox) -> None:
    sandbox.add_issue("KW-2", script=(
        "steps:\n" + move_step("KW-2", "Canceled") + "  - comment: \"still working\"\n"
        "  - handoff: done\n"))
    sandbox.lane("KW-2")
    assert sandbox.outcome("KW-2") == "terminated"
    assert not (sandbox.repo / ".worktrees" / "KW-2").exists()
    assert not sandbox.lane_file("KW-2", "cleanup.json")["worktree_kept"]


def test_an_interrupted_lane_moved_to_done_keeps_its_unpushed_commit(sandbox: Sandbox) -> None:
    commits_then_moves(sandbox, "KW-3", "Backlog")
    assert sandbox.outcome("KW-3") == "interrupted"
    sandbox.tracker.transition("KW-3", "Done")
    sandbox.maestro("run", "--once", check=True)
    assert sandbox.outcome("KW-3") == "terminated"
    assert branch_commits(sandbox, "maestro/kw-3") == ["keepme"]
    assert (sandbox.repo / ".worktrees" / "KW-3" / "a.txt").exists()
    assert "1 commit not on origin" in sandbox.lane_file("KW-3", "cleanup.json")["worktree_kept"]


def test_the_startup_sweep_keeps_a_terminal_issues_worktree_with_uncommitted_files(
        sandbox: Sandbox) -> None:
    sandbox.add_issue("KW-4", script=(
        "steps:\n  - write: {path: draft.txt, content: \"draft\\n\"}\n"
        + move_step("KW-4", "Backlog") + "  - comment: \"still working\"\n"
        "  - handoff: done\n"))
    sandbox.lane("KW-4")
    assert sandbox.outcome("KW-4") == "interrupted"
    (sandbox.repo / ".maestro" / "lanes" / "KW-4" / "outcome.json").unlink()
    sandbox.tracker.transition("KW-4", "Done")
    from maestro.config.workflow import load_workflow
    from maestro.orchestration.startup import sweep_terminal_workspaces

    config = sandbox.config
    assert sweep_terminal_workspaces(config, load_workflow(config.workflow_path), {}) == []
    assert (sandbox.repo / ".worktrees" / "KW-4" / "draft.txt").read_text() == "draft\n"


def test_a_worktree_the_startup_sweep_keeps_is_recorded_for_status(sandbox: Sandbox) -> None:
    """Breaker 27 F6: after a lane reset (or on a fresh state root) the kept worktree had
    no record, and ``maestro status`` listed it nowhere."""
    draft_then_backlog(sandbox, "KW-21")
    sandbox.maestro("lane", "KW-21", "--reset", check=True)
    sandbox.tracker.transition("KW-21", "Canceled")
    from maestro.config.workflow import load_workflow
    from maestro.orchestration.startup import sweep_terminal_workspaces

    config = sandbox.config
    assert sweep_terminal_workspaces(config, load_workflow(config.workflow_path), {}) == []
    assert sandbox.lane_file("KW-21", "cleanup.json")["worktree_kept"] == "1 uncommitted file"
    assert sandbox.outcome("KW-21") == "terminated"
    assert kept_in_status(sandbox) == [("KW-21", "stopped", "KW-21")]


def test_files_a_killed_validation_parked_count_as_the_cancelled_lanes_work(
        sandbox: Sandbox) -> None:
    """Breaker 27 F5: a kill mid-validation leaves the agent's untracked files parked in
    ``.worktrees/.maestro-aside/<ID>``; a cancel then judged the worktree without them,
    removed it, and a retried lane's validation put them into the new PR."""
    sandbox.add_issue("KW-22")
    sandbox.lane("KW-22")
    assert sandbox.outcome("KW-22") == "waiting"  # everything pushed: nothing else to keep
    parked = sandbox.repo / ".worktrees" / ".maestro-aside" / "KW-22"
    parked.mkdir(parents=True)
    (parked / "draft.txt").write_text("only here\n")
    (sandbox.repo / ".maestro" / "lanes" / "KW-22" / "validation-litter.json").write_text(
        '{"before": ["draft.txt"]}\n')
    sandbox.tracker.transition("KW-22", "Canceled")
    sandbox.lane("KW-22")
    assert sandbox.outcome("KW-22") == "terminated"
    worktree = sandbox.repo / ".worktrees" / "KW-22"
    assert (worktree / "draft.txt").read_text() == "only here\n"
    assert "1 uncommitted file" in sandbox.lane_file("KW-22", "cleanup.json")["worktree_kept"]
    assert not parked.exists()


def test_a_cancel_after_the_worktree_folder_was_deleted_keeps_a_sandboxed_commit(
        sandbox: Sandbox) -> None:
    """Breaker 24 F5: a sandboxed session's commit lives in the lane's private store (in
    the worktree's registration under .git/worktrees) until maestro imports it. With the
    folder deleted, the cancel read the branch as holding nothing, pruned the registration
    and the store with it: the commit was lost and the branch named a missing object."""
    commits_then_moves(sandbox, "KW-5", "Backlog")
    worktree = sandbox.repo / ".worktrees" / "KW-5"
    store = sandbox.repo / ".git" / "worktrees" / "KW-5" / "maestro-objects"
    (worktree / "b.txt").write_text("b\n")
    store.mkdir(exist_ok=True)
    env = {**os.environ, "GIT_OBJECT_DIRECTORY": str(store),
           "GIT_ALTERNATE_OBJECT_DIRECTORIES": str(sandbox.repo / ".git" / "objects")}
    for args in (["add", "b.txt"], ["commit", "-q", "-m", "sandboxed"]):
        subprocess.run(["git", *args], cwd=worktree, env=env, check=True)
    shutil.rmtree(worktree)
    sandbox.tracker.transition("KW-5", "Canceled")
    sandbox.maestro("run", "--once", check=True)
    assert branch_commits(sandbox, "maestro/kw-5") == ["sandboxed", "keepme"]
    kept = sandbox.lane_file("KW-5", "cleanup.json")["worktree_kept"]
    assert kept.startswith("the branch maestro/kw-5: 2 commits not on origin")
    fsck = subprocess.run(["git", "fsck", "--connectivity-only"], cwd=sandbox.repo,
                          capture_output=True, text=True, check=False)
    assert fsck.returncode == 0, fsck.stderr


def test_a_retry_after_a_kept_cancel_starts_a_fresh_branch_and_sets_the_work_aside(
        sandbox: Sandbox) -> None:
    """Breaker 24 F3: the new lane took up the kept worktree and branch as they were and
    put the cancelled run's commit up for merge in its PR."""
    commits_then_moves(sandbox, "KW-6", "Canceled")
    assert sandbox.lane_file("KW-6", "cleanup.json")["worktree_kept"]
    sandbox.tracker.transition("KW-6", "Todo")
    said = sandbox.maestro("retry", "KW-6", check=True).stdout
    assert "the work its stop kept is now the branch maestro/kw-6-kept-" in said
    [aside] = (sandbox.repo / ".worktrees").glob("KW-6.kept-*")
    assert (aside / "a.txt").read_text() == "a\n"
    [kept_branch] = subprocess.run(
        ["git", "branch", "--list", "maestro/kw-6-kept-*", "--format=%(refname:short)"],
        cwd=sandbox.repo, capture_output=True, text=True, check=True).stdout.split()
    assert branch_commits(sandbox, kept_branch) == ["keepme"]
    assert not (sandbox.repo / ".worktrees" / "KW-6").exists()
    assert subprocess.run(["git", "rev-parse", "--verify", "-q", "maestro/kw-6"],
                          cwd=sandbox.repo, capture_output=True, check=False).returncode != 0


def kept_in_status(box: Sandbox) -> list[tuple[str, str, str]]:
    """``maestro status --json``'s ``kept_work``: (issue, kind, folder name) each."""
    snap = json.loads(box.maestro("status", "--json", check=True).stdout)
    return [(item["issue"], item["kind"], Path(item["path"]).name)
            for item in snap["kept_work"]]


def test_status_names_the_worktree_a_cancel_kept_and_where_a_retry_moved_it(
        sandbox: Sandbox) -> None:
    """A person who cancels finds the kept work in ``maestro status``, not only in the
    cancel's answer; after ``maestro retry`` it is listed where it went."""
    commits_then_moves(sandbox, "KW-20", "Canceled")
    assert kept_in_status(sandbox) == [("KW-20", "stopped", "KW-20")]
    shown = sandbox.maestro("status", env={"COLUMNS": "200"}, check=True).stdout
    assert "kept for a person (1)" in shown and "1 commit not on origin" in shown
    sandbox.tracker.transition("KW-20", "Todo")
    sandbox.maestro("retry", "KW-20", check=True)
    [(issue, kind, name)] = kept_in_status(sandbox)
    assert (issue, kind) == ("KW-20", "kept") and name.startswith("KW-20.kept-")
    shutil.rmtree(sandbox.repo / ".worktrees" / name)
    assert kept_in_status(sandbox) == []


# -- a worktree git can no longer read (breaker 26 H1) ----------------------------------------


def draft_then_backlog(box: Sandbox, identifier: str) -> Path:
    """An interrupted lane whose worktree holds an uncommitted ``draft.txt``."""
    box.add_issue(identifier, script=(
        "steps:\n  - write: {path: draft.txt, content: \"draft\\n\"}\n"
        + move_step(identifier, "Backlog") + "  - comment: \"still working\"\n"
        "  - handoff: done\n"))
    box.lane(identifier)
    assert box.outcome(identifier) == "interrupted"
    return box.repo / ".worktrees" / identifier


@pytest.mark.parametrize("breakage", ["its registration", "its .git file"])
def test_a_cancel_keeps_the_files_of_a_worktree_git_cannot_read(
        sandbox: Sandbox, breakage: str) -> None:
    """git cannot say what in such a folder is uncommitted: the cancel read it as holding
    nothing and deleted the agent's files."""
    worktree = draft_then_backlog(sandbox, "KW-7")
    if breakage == "its registration":
        shutil.rmtree(sandbox.repo / ".git" / "worktrees" / "KW-7")
    else:
        (worktree / ".git").unlink()
    said = sandbox.maestro("cancel", "KW-7", check=True).stdout
    assert (worktree / "draft.txt").read_text() == "draft\n"
    assert "folder git cannot read as a worktree" in said
    kept = sandbox.lane_file("KW-7", "cleanup.json")["worktree_kept"]
    assert "folder git cannot read as a worktree" in kept


def test_the_startup_sweep_keeps_the_files_of_a_worktree_git_cannot_read(
        sandbox: Sandbox) -> None:
    worktree = draft_then_backlog(sandbox, "KW-8")
    shutil.rmtree(sandbox.repo / ".git" / "worktrees" / "KW-8")
    (sandbox.repo / ".maestro" / "lanes" / "KW-8" / "outcome.json").unlink()
    sandbox.tracker.transition("KW-8", "Done")
    from maestro.config.workflow import load_workflow
    from maestro.orchestration.startup import sweep_terminal_workspaces

    config = sandbox.config
    assert sweep_terminal_workspaces(config, load_workflow(config.workflow_path), {}) == []
    assert (worktree / "draft.txt").read_text() == "draft\n"


def test_a_retry_sets_a_kept_unreadable_worktree_aside_as_it_is(sandbox: Sandbox) -> None:
    worktree = draft_then_backlog(sandbox, "KW-9")
    shutil.rmtree(sandbox.repo / ".git" / "worktrees" / "KW-9")
    sandbox.tracker.transition("KW-9", "Canceled")
    sandbox.maestro("cancel", "KW-9", check=True)
    sandbox.tracker.transition("KW-9", "Todo")
    said = sandbox.maestro("retry", "KW-9", check=True).stdout
    [aside] = [p for p in (sandbox.repo / ".worktrees").iterdir() if p.name != "KW-9"]
    assert aside.name in said
    assert (aside / "draft.txt").read_text() == "draft\n"
    assert not worktree.exists()


def test_a_cancel_in_the_tracker_during_review_keeps_uncommitted_files(
        sandbox: Sandbox) -> None:
    """Breaker 26 M1: the review phase's own cancel path deleted the parked worktree and
    the remote branch, whatever they held; ``maestro cancel`` kept them."""
    sandbox.add_issue("KW-10")
    sandbox.lane("KW-10")
    assert sandbox.outcome("KW-10") == "waiting"
    worktree = sandbox.repo / ".worktrees" / "KW-10"
    (worktree / "notes.md").write_text("a person's notes\n")
    sandbox.tracker.transition("KW-10", "Canceled")
    sandbox.lane("KW-10")
    assert sandbox.outcome("KW-10") == "terminated"
    assert (worktree / "notes.md").read_text() == "a person's notes\n"
    assert "1 uncommitted file" in sandbox.lane_file("KW-10", "cleanup.json")["worktree_kept"]


def test_a_retry_never_moves_aside_a_worktree_git_reads_but_will_not_move(
        sandbox: Sandbox) -> None:
    """Breaker 26 N1: only a folder git cannot read is moved as it is; a worktree git
    refuses to move (locked here; one holding a submodule alike) keeps git's refusal, so
    nothing under its registration (a submodule's git dir) is lost."""
    commits_then_moves(sandbox, "KW-11", "Canceled")
    worktree = sandbox.repo / ".worktrees" / "KW-11"
    subprocess.run(["git", "worktree", "lock", str(worktree)], cwd=sandbox.repo, check=True)
    sandbox.tracker.transition("KW-11", "Todo")
    refused = sandbox.maestro("retry", "KW-11")
    assert refused.returncode != 0
    assert "locked" in refused.stdout + refused.stderr
    assert (worktree / "a.txt").read_text() == "a\n"
    assert [p.name for p in (sandbox.repo / ".worktrees").iterdir()] == ["KW-11"]
    branches = subprocess.run(["git", "branch", "--list", "maestro/*"], cwd=sandbox.repo,
                              capture_output=True, text=True, check=True).stdout
    assert "kept" not in branches  # nothing moved, the branch neither (breaker 31 F2)


def test_a_retry_sets_a_kept_worktree_that_became_a_repository_of_its_own_aside(
        sandbox: Sandbox) -> None:
    """Breaker 31 F2: git refused to move it ("not a .git file") after the branch had been
    renamed, on every retry; the lane was stranded until a person moved the folder."""
    worktree = draft_then_backlog(sandbox, "KW-12")
    (worktree / ".git").unlink()
    subprocess.run(["git", "init", "-q"], cwd=worktree, check=True)
    subprocess.run(["git", "-c", "user.name=a", "-c", "user.email=a@example.invalid", "commit",
                    "-q", "--allow-empty", "-m", "its own history"], cwd=worktree, check=True)
    sandbox.tracker.transition("KW-12", "Canceled")
    sandbox.maestro("cancel", "KW-12", check=True)
    sandbox.tracker.transition("KW-12", "Todo")
    said = sandbox.maestro("retry", "KW-12", check=True).stdout
    [aside] = [p for p in (sandbox.repo / ".worktrees").iterdir() if p.name != "KW-12"]
    assert aside.name in said and "maestro/kw-12-kept-" in said
    assert (aside / "draft.txt").read_text() == "draft\n"
    assert (aside / ".git.set-aside" / "HEAD").is_file()
