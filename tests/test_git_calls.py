"""maestro's git helpers: batched lookups answer like one call each, and the per-process
memo of a folder's git dirs is asked again as soon as the folder's ``.git`` changes."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from maestro.git import dirs as gitdirs
from maestro.git import rev_parse, rev_parse_many
from tests.gitrepo import sh, small_repo


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    work = small_repo(tmp_path, monkeypatch)
    sh(work, "tag", "-a", "-m", "t", "v1")
    return work


@pytest.fixture(autouse=True)
def _fresh_memo() -> Iterator[None]:
    gitdirs.forget()
    yield
    gitdirs.forget()


def test_a_batch_answers_each_name_as_rev_parse_does(repo: Path) -> None:
    names = ["HEAD", "refs/heads/main", "v1", "refs/heads/absent", "HEAD^{tree}", "HEAD~5",
             "main:a.txt", "--all"]
    one_shot = {n: subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{n}^{{commit}}"],
                                  cwd=repo, capture_output=True, text=True,
                                  check=False).stdout.strip() or None for n in names}
    assert rev_parse_many(repo, names) == one_shot
    assert {n: rev_parse(repo, n) for n in names} == one_shot


def test_a_name_holding_a_nul_names_nothing(repo: Path) -> None:
    assert rev_parse(repo, "main\0x") is None
    assert rev_parse_many(repo, ["main\0x", "main"])["main\0x"] is None


def test_a_batch_outside_a_repository_finds_nothing(tmp_path: Path) -> None:
    assert rev_parse_many(tmp_path, ["HEAD"]) == {"HEAD": None}


def test_the_git_dirs_of_a_worktree_follow_its_git_file_when_it_is_repointed(
        repo: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "one" / "wt", tmp_path / "two" / "wt"
    sh(repo, "worktree", "add", "--quiet", "-b", "b1", str(first))
    sh(repo, "worktree", "add", "--quiet", "-b", "b2", str(second))
    before = gitdirs.git_dirs(first)
    assert before is not None and before.common == repo / ".git"
    (first / ".git").write_text((second / ".git").read_text())  # the agent repoints it
    after = gitdirs.git_dirs(first)
    assert after is not None
    assert after.absolute == Path(sh(second, "rev-parse", "--absolute-git-dir"))
    assert after.absolute != before.absolute


def test_no_git_dirs_are_remembered_for_a_folder_without_a_repository(tmp_path: Path) -> None:
    folder = tmp_path / "later"
    folder.mkdir()
    assert gitdirs.git_dirs(folder) is None
    sh(tmp_path, "init", "--quiet", str(folder))
    found = gitdirs.git_dirs(folder)
    assert found is not None and found.common == folder / ".git"


def _asks(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The folder of each git process :func:`gitdirs.git_dirs` starts (still real git)."""
    seen: list[Path] = []
    real = gitdirs.run_git

    def recording(cwd: Path, args: Sequence[str], stdin: str | None = None
                  ) -> subprocess.CompletedProcess[str]:
        seen.append(cwd)
        return real(cwd, args, stdin)

    monkeypatch.setattr(gitdirs, "run_git", recording)
    return seen


def test_a_held_repository_is_asked_once_though_a_worktree_add_changes_its_git_dir(
        repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    asks = _asks(monkeypatch)
    wt = tmp_path / "wt"
    with gitdirs.held(repo):
        first = gitdirs.git_dirs(repo)
        sh(repo, "worktree", "add", "--quiet", "-b", "b1", str(wt))  # makes .git/worktrees
        assert gitdirs.git_dirs(repo) == first
        assert gitdirs.git_dirs(wt) is not None  # other folders are asked as always
    assert asks == [repo, wt]
    assert gitdirs.git_dirs(repo) == first  # as the hold last saw the folder: remembered
    sh(repo, "worktree", "remove", str(wt))
    assert gitdirs.git_dirs(repo) == first
    assert asks == [repo, wt, repo]  # outside the hold: keyed on the git dir's times again
