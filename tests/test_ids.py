"""Identifiers from a tracker can never become paths outside the lane roots."""

from __future__ import annotations

from pathlib import Path

import pytest

from maestro.errors import InputError, WorkspaceError
from maestro.ids import FULL_HASH, branch_name, check_identifier
from maestro.lanes.worktree.workspace import worktree_path

HOSTILE = ["../x", "..", "/etc/passwd", "a/b", "a\\b", "x;rm -rf ~", "a b", "a\nb", "",
           "-rf", ".hidden", "x" * 65, "a..b", "name.lock", "$(id)", "ÄBC-1", "trailing."]


@pytest.mark.parametrize("identifier", HOSTILE)
def test_hostile_identifiers_are_refused(identifier: str) -> None:
    with pytest.raises(InputError, match="not usable as a lane name"):
        check_identifier(identifier)


@pytest.mark.parametrize("identifier", ["ABC-123", "gh-42", "DEMO_1", "a.b-c"])
def test_ordinary_identifiers_are_accepted(identifier: str) -> None:
    assert check_identifier(identifier) == identifier


def test_branch_names_are_deterministic() -> None:
    assert branch_name("ABC-123") == branch_name("ABC-123") == "maestro/abc-123"


def test_a_symlinked_lane_folder_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "worktrees"
    root.mkdir()
    (root / "ABC-1").symlink_to(tmp_path)
    with pytest.raises(WorkspaceError, match="symlink"):
        worktree_path(root, "ABC-1")


def test_worktree_path_stays_inside_the_root(tmp_path: Path) -> None:
    assert worktree_path(tmp_path, "ABC-1").parent == tmp_path.resolve()


@pytest.mark.parametrize(("name", "full"), [
    ("a" * 40, True), ("0123456789abcdef" * 4, True),  # SHA-1, SHA-256
    ("a" * 39, False), ("a" * 41, False), ("a" * 63, False), ("a" * 65, False),
    ("A" * 40, False), ("g" * 40, False), ("HEAD", False), ("", False),
])
def test_only_a_full_object_name_is_a_full_hash(name: str, full: bool) -> None:
    assert (FULL_HASH.fullmatch(name) is not None) is full
