"""Archived lane folders (maestro/lanes/record/archive.py): whose they are, and whether the
issue's last run ended by a stop (a retry after a cancel starts over from the base)."""

from __future__ import annotations

from pathlib import Path

import pytest

from maestro.fsutil import write_json
from maestro.lanes.record.archive import (
    ARCHIVE,
    heads_since_stop,
    issue_of,
    lane_folders,
    new_folder,
)


def archived(root: Path, name: str, cleanup: dict[str, str] | str | None) -> None:
    """An archived lane folder: its ``cleanup.json``, or ``"pushed"`` for an unfinished
    run that had pushed a head."""
    folder = root / ARCHIVE / name
    folder.mkdir(parents=True)
    if cleanup == "pushed":
        write_json(folder / "pushed.json", {"heads": [PUSHED_HEAD]})
    elif isinstance(cleanup, dict):
        write_json(folder / "cleanup.json", cleanup)


PUSHED_HEAD = "a" * 40


@pytest.mark.parametrize(("runs", "expected"), [
    ([], None),
    ([("A-1-run-20261201T100000-aaaa", {"reason": "cancelled"})], set()),
    ([("A-1-run-20261201T100000-aaaa", {"reason": "terminated"})], set()),
    # a merged or delivered run, or one archived before it finished (a reset), is resumed
    ([("A-1-run-20261201T100000-aaaa", {"reason": "delivered"})], None),
    ([("A-1-run-20261201T100000-aaaa", None)], None),
    # the runs archived after the stop say what they pushed (or were about to): the
    # remote branch is theirs only at one of those heads (breaker 28 F3, 29 F1)
    ([("A-1-run-20261201T100000-aaaa", {"reason": "cancelled"}),
      ("A-1-run-20261201T110000-bbbb", None), ("A-1-run-20261201T120000-cccc", None)], set()),
    ([("A-1-run-20261201T100000-aaaa", {"reason": "cancelled"}),
      ("A-1-run-20261201T110000-bbbb", "pushed")], {PUSHED_HEAD}),
    # runs before the stop say nothing
    ([("A-1-run-20261201T090000-aaaa", "pushed"),
      ("A-1-run-20261201T100000-bbbb", {"reason": "cancelled"})], set()),
    # another issue's runs say nothing about this one
    ([("A-10-run-20261201T100000-aaaa", {"reason": "cancelled"})], None),
])
def test_the_archive_back_to_the_last_stop_says_which_heads_are_the_issues_since(
        tmp_path: Path, runs: list[tuple[str, dict[str, str] | str | None]],
        expected: set[str] | None) -> None:
    for name, cleanup in runs:
        archived(tmp_path, name, cleanup)
    assert heads_since_stop(tmp_path, "A-1") == expected


def test_archived_folders_are_named_by_their_issue(tmp_path: Path) -> None:
    archived(tmp_path, "A-1-run-20261201T100000-aaaa", None)
    archived(tmp_path, "A-1-x-run-20261201T100000-aaaa", None)
    assert issue_of("A-1-x-run-20261201T100000-aaaa") == "A-1-x"
    assert [p.name for p in lane_folders(tmp_path, "A-1")] == ["A-1-run-20261201T100000-aaaa"]


def test_archives_made_within_one_second_read_back_in_the_order_they_were_made(
        tmp_path: Path) -> None:
    """Breaker 29: two resets in one second were sorted by their random suffix, so a stop
    could read as older than the run archived after it."""
    made = []
    for _ in range(20):
        folder = new_folder(tmp_path, "A-1")
        folder.mkdir(parents=True)
        made.append(folder)
    assert lane_folders(tmp_path, "A-1") == made


def test_a_new_archive_sorts_after_one_the_clock_calls_later(tmp_path: Path) -> None:
    archived(tmp_path, "A-1-run-29991231T235959999999Z-aaaaaa", None)
    folder = new_folder(tmp_path, "A-1")
    folder.mkdir()
    assert lane_folders(tmp_path, "A-1")[-1] == folder


def test_archives_named_to_the_second_and_to_the_microsecond_sort_by_time(
        tmp_path: Path) -> None:
    names = ["A-1-run-20261201T100000Z-ffffff", "A-1-run-20261201T100000500000Z-000000",
             "A-1-run-20261201T100001Z-000000"]
    for name in reversed(names):
        archived(tmp_path, name, None)
    assert [p.name for p in lane_folders(tmp_path, "A-1")] == names


@pytest.mark.parametrize("name", ["A-1-run-20261399T999999Z-aaaaaa",
                                  "A-1-run-99991231T235959999999Z-aaaaaa", "A-1-run-notes"])
def test_a_folder_not_named_by_maestro_does_not_stop_a_new_archive(
        tmp_path: Path, name: str) -> None:
    archived(tmp_path, name, None)
    folder = new_folder(tmp_path, "A-1")
    assert folder.parent == tmp_path / ARCHIVE and folder.name.startswith("A-1-run-")
