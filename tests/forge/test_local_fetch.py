"""The local forge fetches a branch only when origin's head differs from the
remote-tracking ref a caller reads; the result is what a fetch would leave."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from forge.conftest import Remote, sh

from maestro.forges import local
from maestro.forges.local import LocalForge


@pytest.fixture
def fetches(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ...]]:
    """Every git fetch the forge starts (still real git)."""
    seen: list[tuple[str, ...]] = []
    real = local.git_ok

    def counting(cwd: Path, *args: str) -> bool:
        if args[:1] == ("fetch",):
            seen.append(args)
        return real(cwd, *args)

    monkeypatch.setattr(local, "git_ok", counting)
    return seen


def tracking(remote: Remote) -> str:
    return sh(remote.clone, "rev-parse", "refs/remotes/origin/main")


def push_from_elsewhere(remote: Remote, tmp_path: Path) -> str:
    other = tmp_path / "other"
    sh(tmp_path, "clone", "--quiet", str(remote.origin), str(other))
    (other / "b.txt").write_text("b\n")
    sh(other, "add", "b.txt")
    sh(other, "commit", "--quiet", "-m", "b")
    sh(other, "push", "--quiet", "origin", "main")
    return sh(other, "rev-parse", "HEAD")


def test_a_current_tracking_ref_is_not_fetched_again(
        remote: Remote, fetches: list[tuple[str, ...]]) -> None:
    assert LocalForge(remote.clone, "origin").fetch("main") is True
    assert fetches == []
    assert tracking(remote) == remote.head("refs/heads/main")


def test_a_branch_that_moved_on_origin_is_fetched(
        remote: Remote, tmp_path: Path, fetches: list[tuple[str, ...]]) -> None:
    moved = push_from_elsewhere(remote, tmp_path)
    assert LocalForge(remote.clone, "origin").fetch("main") is True
    assert len(fetches) == 1
    assert tracking(remote) == moved


def test_a_tracking_ref_moved_in_the_repository_is_fetched_back(
        remote: Remote, fetches: list[tuple[str, ...]]) -> None:
    truth = remote.head("refs/heads/main")
    remote.commit("c.txt", "c\n", "local only")
    sh(remote.clone, "update-ref", "refs/remotes/origin/main", "HEAD")
    assert LocalForge(remote.clone, "origin").fetch("main") is True
    assert len(fetches) == 1
    assert tracking(remote) == truth


def test_a_tracking_ref_linked_to_origins_branch_file_is_fetched(
        remote: Remote, tmp_path: Path, fetches: list[tuple[str, ...]]) -> None:
    # A symbolic link would make the two reads one file, whatever origin's branch becomes.
    sh(remote.clone, "pack-refs", "--all")
    ref = remote.clone / ".git" / "refs" / "remotes" / "origin" / "main"
    ref.parent.mkdir(parents=True, exist_ok=True)
    ref.unlink(missing_ok=True)
    ref.symlink_to(remote.origin / "refs" / "heads" / "main")
    push_from_elsewhere(remote, tmp_path)
    assert LocalForge(remote.clone, "origin").fetch("main") is True
    assert len(fetches) == 1


def test_a_tracking_ref_naming_a_commit_not_here_is_fetched(
        remote: Remote, tmp_path: Path, fetches: list[tuple[str, ...]]) -> None:
    # A ref file written by hand to origin's new head, without its objects.
    moved = push_from_elsewhere(remote, tmp_path)
    (remote.clone / ".git" / "refs" / "remotes" / "origin" / "main").write_text(moved + "\n")
    assert LocalForge(remote.clone, "origin").fetch("main") is True
    assert len(fetches) == 1
    assert sh(remote.clone, "cat-file", "-t", moved) == "commit"


@pytest.mark.parametrize("refspec", ["+refs/heads/main:refs/remotes/origin/main",
                                     "refs/heads/main", "-v"])
def test_anything_but_a_plain_branch_name_is_fetched(
        remote: Remote, fetches: list[tuple[str, ...]], refspec: str) -> None:
    LocalForge(remote.clone, "origin").fetch(refspec)
    assert len(fetches) == 1


def test_a_branch_origin_does_not_have_is_fetched_and_fails(
        remote: Remote, fetches: list[tuple[str, ...]]) -> None:
    assert LocalForge(remote.clone, "origin").fetch("nowhere") is False
    assert len(fetches) == 1
    assert subprocess.run(["git", "rev-parse", "--verify", "--quiet",
                           "refs/remotes/origin/nowhere"], cwd=remote.clone,
                          check=False).returncode != 0


def test_packed_refs_on_both_sides_still_spare_the_fetch(
        remote: Remote, fetches: list[tuple[str, ...]]) -> None:
    sh(remote.origin, "pack-refs", "--all", "--prune")
    sh(remote.clone, "pack-refs", "--all", "--prune")
    assert LocalForge(remote.clone, "origin").fetch("main") is True
    assert fetches == []
