"""maestro's own git never walks up out of a lane's worktree into the operator's checkout."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from maestro.git import git, run_git
from maestro.lanes.workspace import worktree_path


def sh(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    sh(repo, "init", "-q", "-b", "main")
    (repo / "README.md").write_text("hi\n")
    sh(repo, "add", "-A")
    sh(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
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
