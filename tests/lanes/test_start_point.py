"""Where prepare starts the lane branch: the same choice as before, with fewer git calls
(maestro.lanes.worktree.start_point)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from maestro.lanes.record.state import LaneState
from maestro.lanes.worktree import remote_heads
from maestro.lanes.worktree.start_point import start_point
from tests.gitrepo import sh, small_repo

BRANCH = "maestro/abc-1"


class Forge:
    """Records fetches; runs them for real against the repository's ``origin``."""

    def __init__(self, repo: Path) -> None:
        self.repo = repo
        self.fetched: list[str] = []

    def fetch(self, *refspecs: str) -> bool:
        self.fetched += refspecs
        try:
            sh(self.repo, "fetch", "--quiet", "origin", *refspecs)
        except Exception:
            return False
        return True


@pytest.fixture(autouse=True)
def _no_answers() -> Iterator[None]:
    remote_heads._answers.clear()
    yield
    remote_heads._answers.clear()


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    work = small_repo(tmp_path, monkeypatch, ("a",))
    sh(tmp_path, "init", "--quiet", "--bare", "--initial-branch=main", str(tmp_path / "o.git"))
    sh(work, "remote", "add", "origin", str(tmp_path / "o.git"))
    sh(work, "push", "--quiet", "origin", "main")
    sh(work, "fetch", "--quiet", "origin")
    return work


def context(repo: Path) -> Any:
    forge = SimpleNamespace(remote="origin", base_branch="main")
    state = LaneState(repo / ".maestro" / "lanes", "ABC-1")
    return SimpleNamespace(workflow=SimpleNamespace(policy=SimpleNamespace(forge=forge)),
                           config=SimpleNamespace(repo_root=repo,
                                                  state_root=repo / ".maestro"),
                           identifier="ABC-1", state=state, branch=BRANCH, forge=Forge(repo))


def ls_remote(repo: Path) -> str:
    return sh(repo, "ls-remote", "origin", "refs/heads/main", f"refs/heads/{BRANCH}")


def test_a_base_origin_still_has_is_not_fetched_and_its_commit_is_handed_on(
        repo: Path) -> None:
    ctx = context(repo)
    remote_heads.remember(repo, "origin", "main", ls_remote(repo))
    remote_heads.remember(repo, "origin", BRANCH, ls_remote(repo))
    point = start_point(ctx)
    assert ctx.forge.fetched == []
    assert point.ref == "refs/remotes/origin/main"
    assert point.commit == sh(repo, "rev-parse", "origin/main")
    assert not point.from_remote_lane
    assert point.lane_branch_exists is False  # read in the same process: handed on too


def test_without_the_claims_answers_both_fetches_happen(repo: Path) -> None:
    ctx = context(repo)
    point = start_point(ctx)
    assert ctx.forge.fetched == ["main", f"+refs/heads/{BRANCH}:refs/remotes/origin/{BRANCH}"]
    assert point.ref == "refs/remotes/origin/main"


def test_a_base_that_moved_on_origin_is_fetched_and_read_again(repo: Path) -> None:
    ctx = context(repo)
    (repo / "b.txt").write_text("b\n")
    sh(repo, "add", "-A")
    sh(repo, "commit", "--quiet", "-m", "b")
    sh(repo, "push", "--quiet", "origin", "HEAD:main")
    sh(repo, "update-ref", "refs/remotes/origin/main", "HEAD~1")  # the ref lags behind
    remote_heads.remember(repo, "origin", "main", ls_remote(repo))
    remote_heads.remember(repo, "origin", BRANCH, ls_remote(repo))
    point = start_point(ctx)
    assert ctx.forge.fetched == ["main"]
    assert point.commit == sh(repo, "rev-parse", "HEAD")


def test_a_lane_branch_pushed_by_another_runner_is_where_work_resumes(repo: Path) -> None:
    ctx = context(repo)
    sh(repo, "push", "--quiet", "origin", f"main:{BRANCH}")
    remote_heads.remember(repo, "origin", "main", ls_remote(repo))
    remote_heads.remember(repo, "origin", BRANCH, ls_remote(repo))
    point = start_point(ctx)
    assert ctx.forge.fetched == [f"+refs/heads/{BRANCH}:refs/remotes/origin/{BRANCH}"]
    assert point.from_remote_lane and point.commit is None


def test_a_local_lane_branch_is_never_replaced_by_the_remote_one(repo: Path) -> None:
    ctx = context(repo)
    sh(repo, "branch", BRANCH)
    sh(repo, "push", "--quiet", "origin", f"main:{BRANCH}")
    point = start_point(ctx)
    assert ctx.forge.fetched == ["main"]
    assert not point.from_remote_lane
    assert point.lane_branch_exists is True


def stopped_run_archived(repo: Path) -> None:
    """The issue's last lane was cancelled, then archived by ``maestro retry``."""
    folder = repo / ".maestro" / "archive" / "ABC-1-run-20261201T100000Z-aaaaaa"
    folder.mkdir(parents=True)
    (folder / "cleanup.json").write_text('{"reason": "cancelled"}\n')


def test_a_lane_retried_after_a_cancel_starts_from_the_base_not_the_stopped_runs_branch(
        repo: Path) -> None:
    ctx = context(repo)
    sh(repo, "push", "--quiet", "origin", f"main:{BRANCH}")
    stopped_run_archived(repo)
    point = start_point(ctx)
    # the lane branch is fetched to read its head: the stopped run's, not this lane's
    assert ctx.forge.fetched == ["main", f"+refs/heads/{BRANCH}:refs/remotes/origin/{BRANCH}"]
    assert point.ref == "refs/remotes/origin/main" and not point.from_remote_lane


def test_a_retried_lane_that_has_pushed_resumes_its_own_remote_branch(repo: Path) -> None:
    ctx = context(repo)
    sh(repo, "push", "--quiet", "origin", f"main:{BRANCH}")
    stopped_run_archived(repo)
    ctx.state.write("pushed.json", {"heads": [sh(repo, "rev-parse", "main")]})
    point = start_point(ctx)
    assert point.from_remote_lane


def test_a_first_push_that_never_landed_does_not_end_the_start_over(repo: Path) -> None:
    """Breaker 29 F1: ``pushed.json`` is written before the push; a push refused, lost or
    killed left it naming a head the remote never got, and the lane then resumed the
    stopped run's branch."""
    ctx = context(repo)
    sh(repo, "push", "--quiet", "origin", f"main:{BRANCH}")
    stopped_run_archived(repo)
    ctx.state.write("pushed.json", {"heads": ["b" * 40]})
    point = start_point(ctx)
    assert not point.from_remote_lane
