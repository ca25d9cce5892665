"""Clean-up and set-aside in a folder the agent can write never reach outside it
(``maestro.containment.beneath``), and git's path lists are read exactly
(``maestro.git.worktree_paths``)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from maestro.containment.beneath import move_beneath, remove_beneath
from maestro.git.worktree_paths import split_z, untracked


def test_a_removal_through_a_folder_swapped_for_a_link_fails_and_deletes_nothing(
        tmp_path: Path) -> None:
    worktree, outside = tmp_path / "wt", tmp_path / "operator"
    worktree.mkdir()
    outside.mkdir()
    (outside / "WORKFLOW.md").write_text("policy")
    (worktree / "build").symlink_to(outside)  # swapped in after maestro listed build/…
    assert remove_beneath(worktree, "build/WORKFLOW.md") is False
    assert (outside / "WORKFLOW.md").read_text() == "policy"


def test_removing_a_link_removes_the_link_not_what_it_points_at(tmp_path: Path) -> None:
    worktree, outside = tmp_path / "wt", tmp_path / "operator"
    worktree.mkdir()
    outside.mkdir()
    (outside / "keep.txt").write_text("keep")
    (worktree / "cache").symlink_to(outside)
    assert remove_beneath(worktree, "cache/") is True
    assert not (worktree / "cache").exists() and (outside / "keep.txt").exists()


@pytest.mark.parametrize("name", ["/etc/passwd", "../outside", "a/../../b", ""])
def test_a_path_that_is_not_beneath_the_folder_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError):
        remove_beneath(tmp_path, name)


def test_a_move_never_replaces_what_is_at_the_target(tmp_path: Path) -> None:
    source, target = tmp_path / "wt", tmp_path / "aside"
    (source / "d").mkdir(parents=True)
    (target / "d").mkdir(parents=True)
    (source / "d" / "f").write_text("new")
    (target / "d" / "f").write_text("old")
    assert move_beneath(source, "d/f", target) is False
    assert (target / "d" / "f").read_text() == "old" and (source / "d" / "f").exists()


def test_a_move_refused_for_a_taken_target_leaves_no_folder_open(tmp_path: Path) -> None:
    source, target = tmp_path / "wt", tmp_path / "aside"
    source.mkdir()
    target.mkdir()
    (source / "f").write_text("new")
    (target / "f").write_text("old")
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(20):
        assert move_beneath(source, "f", target) is False
    assert len(os.listdir("/proc/self/fd")) == before


def test_a_move_through_a_link_on_the_target_side_fails(tmp_path: Path) -> None:
    source, target, outside = tmp_path / "wt", tmp_path / "aside", tmp_path / "operator"
    source.mkdir()
    target.mkdir()
    outside.mkdir()
    (source / "d").mkdir()
    (source / "d" / "f").write_text("x")
    (target / "d").symlink_to(outside)
    assert move_beneath(source, "d/f", target) is False
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize("name", [" ", "\t", " lead", "trail ", " /abs/path"])
def test_names_keep_their_whitespace(name: str) -> None:
    assert split_z(name.encode() + b"\0") == [name]


def test_an_absolute_or_climbing_name_from_git_is_refused() -> None:
    with pytest.raises(ValueError):
        split_z(b"ok\0/etc/passwd\0")
    with pytest.raises(ValueError):
        split_z(b"../x\0")


def test_an_undecodable_name_round_trips_to_the_same_bytes(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    raw = b"litter-\xff\xfe.txt"
    with open(bytes(tmp_path) + b"/" + raw, "w") as handle:
        handle.write("x")
    [name] = untracked(tmp_path)
    assert remove_beneath(tmp_path, name) is True
    assert list(tmp_path.iterdir()) == [tmp_path / ".git"]
