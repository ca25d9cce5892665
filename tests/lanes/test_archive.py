"""Archived lane folders (maestro/lanes/record/archive.py): whose they are, and whether the
issue's last run ended by a stop (a retry after a cancel starts over from the base)."""

from __future__ import annotations

from pathlib import Path

import pytest

from maestro.fsutil import write_json
from maestro.lanes.record.archive import ARCHIVE, issue_of, lane_folders, last_run_stopped


def archived(root: Path, name: str, cleanup: dict[str, str] | str | None) -> None:
    """An archived lane folder: its ``cleanup.json``, or ``"pushed"`` for an unfinished
    run that had pushed a head."""
    folder = root / ARCHIVE / name
    folder.mkdir(parents=True)
    if cleanup == "pushed":
        write_json(folder / "pushed.json", {"heads": ["a" * 40]})
    elif isinstance(cleanup, dict):
        write_json(folder / "cleanup.json", cleanup)


@pytest.mark.parametrize(("runs", "expected"), [
    ([], False),
    ([("A-1-run-20261201T100000-aaaa", {"reason": "cancelled"})], True),
    ([("A-1-run-20261201T100000-aaaa", {"reason": "terminated"})], True),
    # a merged or delivered run, or one archived before it finished (a reset), is resumed
    ([("A-1-run-20261201T100000-aaaa", {"reason": "delivered"})], False),
    ([("A-1-run-20261201T100000-aaaa", None)], False),
    # the newest run decides
    ([("A-1-run-20261201T100000-aaaa", None),
      ("A-1-run-20261201T110000-bbbb", {"reason": "cancelled"})], True),
    # a run archived after the stop that never pushed (a second reset; a retry of a lane
    # stopped at its claim) does not end the start-over (breaker 28 F3) ...
    ([("A-1-run-20261201T100000-aaaa", {"reason": "cancelled"}),
      ("A-1-run-20261201T110000-bbbb", None), ("A-1-run-20261201T120000-cccc", None)], True),
    # ... one that pushed does: its branch is its own work
    ([("A-1-run-20261201T100000-aaaa", {"reason": "cancelled"}),
      ("A-1-run-20261201T110000-bbbb", "pushed")], False),
    # another issue's runs say nothing about this one
    ([("A-10-run-20261201T100000-aaaa", {"reason": "cancelled"})], False),
])
def test_the_last_archived_run_decides_whether_the_issue_starts_over(
        tmp_path: Path, runs: list[tuple[str, dict[str, str] | str | None]],
        expected: bool) -> None:
    for name, cleanup in runs:
        archived(tmp_path, name, cleanup)
    assert last_run_stopped(tmp_path, "A-1") is expected


def test_archived_folders_are_named_by_their_issue(tmp_path: Path) -> None:
    archived(tmp_path, "A-1-run-20261201T100000-aaaa", None)
    archived(tmp_path, "A-1-x-run-20261201T100000-aaaa", None)
    assert issue_of("A-1-x-run-20261201T100000-aaaa") == "A-1-x"
    assert [p.name for p in lane_folders(tmp_path, "A-1")] == ["A-1-run-20261201T100000-aaaa"]
