"""Does the lane branch carry a change? Counted against the remote-tracking base when it
exists, else the local one (maestro.lanes.push.change), in one git process when it exists."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from maestro.lanes.push import change
from maestro.lanes.push.change import no_change_reason
from tests.gitrepo import sh, small_repo

BRANCH = "maestro/abc-1"


def context(worktree: Path) -> Any:
    forge = SimpleNamespace(remote="origin", base_branch="main")
    return SimpleNamespace(workflow=SimpleNamespace(policy=SimpleNamespace(forge=forge)),
                           worktree=worktree, branch=BRANCH)


@pytest.fixture
def processes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ...]]:
    """The git calls :mod:`maestro.lanes.push.change` makes (still real git)."""
    seen: list[tuple[str, ...]] = []
    real_run, real_git, real_rev_parse = change.run_git, change.git, change.rev_parse

    def run_git(cwd: Path, args: Sequence[str], stdin: str | None = None) -> Any:
        seen.append(tuple(args))
        return real_run(cwd, args, stdin)

    def git(cwd: Path, *args: str, check: bool = True) -> str:
        seen.append(args)
        return real_git(cwd, *args, check=check)

    def rev_parse(cwd: Path, ref: str) -> str | None:
        seen.append(("rev-parse", ref))
        return real_rev_parse(cwd, ref)

    monkeypatch.setattr(change, "run_git", run_git)
    monkeypatch.setattr(change, "git", git)
    monkeypatch.setattr(change, "rev_parse", rev_parse)
    return seen


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return small_repo(tmp_path, monkeypatch, ("a",))


def test_a_commit_beyond_the_remote_base_is_a_change_found_in_one_process(
        repo: Path, processes: list[tuple[str, ...]]) -> None:
    sh(repo, "update-ref", "refs/remotes/origin/main", "HEAD")
    sh(repo, "commit", "--quiet", "--allow-empty", "-m", "work")
    assert no_change_reason(context(repo)) is None
    assert processes == [("rev-list", "--count", "refs/remotes/origin/main..HEAD")]


def test_no_commit_beyond_the_remote_base_names_it(repo: Path) -> None:
    sh(repo, "update-ref", "refs/remotes/origin/main", "HEAD")
    reason = no_change_reason(context(repo))
    assert reason is not None and "no commit beyond origin/main" in reason


def test_without_a_remote_base_the_local_base_is_counted(
        repo: Path, processes: list[tuple[str, ...]]) -> None:
    sh(repo, "checkout", "--quiet", "-b", BRANCH)
    reason = no_change_reason(context(repo))
    assert reason is not None and "no commit beyond main" in reason
    sh(repo, "commit", "--quiet", "--allow-empty", "-m", "work")
    assert no_change_reason(context(repo)) is None
    assert processes[-1] == ("rev-list", "--count", "main..HEAD")
