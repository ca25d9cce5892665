"""maestro's own git never walks up out of a lane's worktree into the operator's checkout."""

from __future__ import annotations

from pathlib import Path

import pytest

from maestro.git import git, run_git
from maestro.lanes.worktree.workspace import worktree_path
from tests.gitrepo import sh, small_repo


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    repo = small_repo(tmp_path, monkeypatch)
    (repo / "operators-notes.txt").write_text("untracked, the operator's\n")
    return repo


def lane_worktree(repo: Path) -> Path:
    path = worktree_path(repo / ".worktrees", "LANE-1")
    sh(repo, "worktree", "add", "-q", "-b", "maestro/lane-1", str(path))
    return path


def test_a_worktree_without_its_git_file_is_no_repository_to_maestros_git(repo: Path) -> None:
    worktree = lane_worktree(repo)
    (worktree / ".git").unlink()
    status = run_git(worktree, ["ls-files", "--others", "--exclude-standard"])
    assert status.returncode != 0 and "not a git repository" in status.stderr
    assert "operators-notes.txt" not in status.stdout
    assert git(worktree, "rev-parse", "HEAD", check=False) == ""


def test_a_whole_worktree_still_answers(repo: Path) -> None:
    worktree = lane_worktree(repo)
    assert git(worktree, "rev-parse", "--abbrev-ref", "HEAD") == "maestro/lane-1"


def test_a_sub_folder_of_the_repository_still_finds_it(repo: Path) -> None:
    lane_worktree(repo)
    (repo / "service").mkdir()
    assert Path(git(repo / "service", "rev-parse", "--show-toplevel")) == repo.resolve()
