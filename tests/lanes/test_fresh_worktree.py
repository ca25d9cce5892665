"""A worktree prepare just made at the base is known to hold no earlier work, until
anything could have changed it (maestro.lanes.worktree.fresh_worktree)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from maestro.lanes.worktree import fresh_worktree, hooks
from tests.gitrepo import sh, small_repo

BRANCH = "maestro/abc-1"


@pytest.fixture(autouse=True)
def _no_records() -> Iterator[None]:
    fresh_worktree.forget()
    yield
    fresh_worktree.forget()


@pytest.fixture
def made(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    """A worktree on a new lane branch at the base, recorded as prepare records it."""
    repo = small_repo(tmp_path, monkeypatch, ("a",))
    base = sh(repo, "rev-parse", "HEAD")
    worktree = tmp_path / "wt"
    sh(repo, "worktree", "add", "--quiet", "-b", BRANCH, str(worktree), base)
    fresh_worktree.created(worktree, BRANCH, base)
    return worktree, base


def test_an_untouched_worktree_is_known_once(made: tuple[Path, str]) -> None:
    worktree, _ = made
    assert fresh_worktree.untouched(worktree)
    assert not fresh_worktree.untouched(worktree)


def test_a_hook_forgets_every_record(made: tuple[Path, str]) -> None:
    fresh_worktree.forget()
    assert not fresh_worktree.untouched(made[0])


def test_a_file_added_at_the_top_is_seen(made: tuple[Path, str]) -> None:
    (made[0] / "left-behind.txt").write_text("x\n")
    assert not fresh_worktree.untouched(made[0])


def test_a_commit_on_the_lane_branch_is_seen(made: tuple[Path, str]) -> None:
    worktree, _ = made
    sh(worktree, "commit", "--quiet", "--allow-empty", "-m", "work")
    assert not fresh_worktree.untouched(worktree)


def test_a_branch_moved_without_touching_the_checkout_is_seen(made: tuple[Path, str]) -> None:
    worktree, _ = made
    sh(worktree, "commit", "--quiet", "--allow-empty", "-m", "work")
    moved = sh(worktree, "rev-parse", "HEAD")
    sh(worktree, "reset", "--quiet", "--soft", "HEAD~1")
    fresh_worktree.created(worktree, BRANCH, sh(worktree, "rev-parse", "HEAD"))
    sh(worktree, "update-ref", f"refs/heads/{BRANCH}", moved)
    assert not fresh_worktree.untouched(worktree)


def test_a_lane_branch_with_commits_of_its_own_is_never_recorded(
        made: tuple[Path, str]) -> None:
    worktree, base = made
    fresh_worktree.forget()
    sh(worktree, "commit", "--quiet", "--allow-empty", "-m", "earlier work")
    fresh_worktree.created(worktree, BRANCH, base)
    assert not fresh_worktree.untouched(worktree)


def test_the_note_keeps_the_record_for_the_session_start_which_uses_it_up(
        made: tuple[Path, str]) -> None:
    worktree, base = made
    assert fresh_worktree.untouched(worktree, keep=True) == base
    assert fresh_worktree.untouched(worktree) == base
    assert fresh_worktree.untouched(worktree, keep=True) is None


def test_a_record_found_changed_is_dropped_even_when_asked_to_keep(
        made: tuple[Path, str]) -> None:
    worktree, _ = made
    (worktree / "left-behind.txt").write_text("x\n")
    assert fresh_worktree.untouched(worktree, keep=True) is None
    (worktree / "left-behind.txt").unlink()
    assert fresh_worktree.untouched(worktree) is None


def test_running_any_hook_script_forgets_the_record(made: tuple[Path, str]) -> None:
    worktree, _ = made
    hooks.run_script("true", worktree, {"PATH": os.environ["PATH"]}, 30.0)
    assert fresh_worktree.untouched(worktree) is None
