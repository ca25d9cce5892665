"""git answers about commits named by hash are asked once per process; anything naming a
ref is asked every time (maestro.git.memo)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from maestro.git import memo as git_memo
from maestro.git.memo import fixed, git_fixed
from maestro.lanes.worktree.worktree_health import tracked_missing
from tests.gitrepo import sh, small_repo

SHA1 = "a" * 40
SHA256 = "b" * 64


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return small_repo(tmp_path, monkeypatch, ("a", "b"))


@pytest.fixture(autouse=True)
def _fresh_memo() -> Iterator[None]:
    git_memo.forget()
    yield
    git_memo.forget()


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ...]]:
    """Every git process git_fixed starts (still real git)."""
    seen: list[tuple[str, ...]] = []
    real = git_memo.run_git

    def counting(cwd: Path, args: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
        seen.append(tuple(args))
        return real(cwd, args)

    monkeypatch.setattr(git_memo, "run_git", counting)
    return seen


@pytest.mark.parametrize(("args", "kept"), [
    (("log", "--reverse", "--format=%H %s", SHA1, "--not", SHA1), True),
    (("merge-base", SHA1, SHA256), True),
    (("diff", "--name-only", "-z", SHA1, SHA1), True),
    (("log", "HEAD", "--not", SHA1), False),
    (("rev-list", "main"), False),
    (("merge-base", SHA1[:12], SHA1), False),
    (("log",), False),
    (("log", "--all", "--not", SHA1), False),  # names every ref
    (("rev-list", "--branches", SHA1), False),
    (("log", "--since=1.hour.ago", SHA1), False),  # reads the clock
])
def test_only_calls_naming_commits_by_full_hash_are_kept(args: tuple[str, ...],
                                                         kept: bool) -> None:
    assert fixed(args) is kept


def test_the_same_question_about_hashes_starts_one_git_process(
        repo: Path, calls: list[tuple[str, ...]]) -> None:
    head, base = sh(repo, "rev-parse", "HEAD"), sh(repo, "rev-parse", "HEAD~1")
    answers = [git_fixed(repo, "log", "--format=%s", head, "--not", base) for _ in range(3)]
    assert answers == ["b"] * 3
    assert len(calls) == 1


def test_a_question_naming_a_ref_is_asked_again_after_the_ref_moves(
        repo: Path, calls: list[tuple[str, ...]]) -> None:
    base = sh(repo, "rev-parse", "HEAD~1")
    assert git_fixed(repo, "log", "--format=%s", "main", "--not", base) == "b"
    sh(repo, "reset", "--quiet", "--hard", base)
    assert git_fixed(repo, "log", "--format=%s", "main", "--not", base) == ""
    assert len(calls) == 2


def test_a_failed_question_is_asked_again(repo: Path, calls: list[tuple[str, ...]]) -> None:
    missing = "c" * 40
    assert git_fixed(repo, "merge-base", missing, missing, check=False) == ""
    assert git_fixed(repo, "merge-base", missing, missing, check=False) == ""
    assert len(calls) == 2


def test_a_shallow_file_the_agent_writes_or_removes_changes_the_question(
        repo: Path, calls: list[tuple[str, ...]]) -> None:
    # .git/shallow cuts a commit's history short: its answers must not outlive the file.
    first, head = sh(repo, "rev-list", "--max-parents=0", "HEAD"), sh(repo, "rev-parse", "HEAD")
    whole = git_fixed(repo, "rev-list", head)
    shallow = repo / ".git" / "shallow"
    shallow.write_text(f"{head}\n")
    assert git_fixed(repo, "rev-list", head) == head
    shallow.unlink()
    assert git_fixed(repo, "rev-list", head) == whole
    assert first in whole


def test_heads_file_list_is_asked_once_and_the_disk_looked_at_every_time(
        repo: Path, calls: list[tuple[str, ...]]) -> None:
    head = sh(repo, "rev-parse", "HEAD")
    assert tracked_missing(repo, head) == ((), True)
    (repo / "a.txt").unlink()  # what a person or a killed checkout may do meanwhile
    assert tracked_missing(repo, head) == (("a.txt",), True)
    assert [c[0] for c in calls] == ["ls-tree"]


def test_the_file_list_of_a_ref_name_is_asked_every_time(repo: Path) -> None:
    before = tracked_missing(repo)
    (repo / "c.txt").write_text("c\n")
    sh(repo, "add", "-A")
    sh(repo, "commit", "--quiet", "-m", "c")
    (repo / "c.txt").unlink()
    assert before == ((), True)
    assert tracked_missing(repo) == (("c.txt",), True)
