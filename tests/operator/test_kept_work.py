"""``kept_work``: the folders maestro kept for a person, as status lists them (a table).

The decision is pure (:func:`maestro.operator.kept_work.kept_work`): folder names in the
workspace root and the snapshot's lane entries in, the list out.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from maestro.lanes.record.lane_read import seal_finished, sealed_read
from maestro.lanes.record.state import LaneState
from maestro.operator.kept_work import KINDS, folder_names, kept_work

ROOT = Path("/repo/.worktrees")


def finished(issue: str, kept: str | None, at: str = "2026-12-01T10:00:00+00:00"
             ) -> dict[str, Any]:
    return {"issue": issue, "phase": "finished", "worktree_kept": kept,
            "kept_at": at if kept else None}


@pytest.mark.parametrize(("names", "lanes", "expected"), [
    # a stop kept the lane's own worktree, which is still there
    (["A-1"], [finished("A-1", "1 commit not on origin")],
     [("A-1", "stopped", "A-1", "2026-12-01T10:00:00+00:00", "1 commit not on origin")]),
    # ... and no longer shown once a person deleted it
    ([], [finished("A-1", "1 commit not on origin")], []),
    # a finished lane that kept nothing: its folder (left by a person) is not maestro's keeping
    (["A-2"], [finished("A-2", None)], []),
    # an unfinished lane's worktree is the lane's own ("retained"), not kept work
    (["A-3"], [{"issue": "A-3", "phase": "review", "worktree_kept": None}], []),
    # moved aside by maestro retry
    (["A-4.kept-20261201T093000Z"], [],
     [("A-4", "kept", "A-4.kept-20261201T093000Z", "2026-12-01T09:30:00+00:00",
       KINDS["kept"])]),
    # set aside by the healing, twice in one second (the second name is numbered)
    (["A-5.set-aside-20261130T235959Z", "A-5.set-aside-20261130T235959Z-2"], [],
     [("A-5", "set_aside", "A-5.set-aside-20261130T235959Z", "2026-11-30T23:59:59+00:00",
       KINDS["set_aside"]),
      ("A-5", "set_aside", "A-5.set-aside-20261130T235959Z-2", "2026-11-30T23:59:59+00:00",
       KINDS["set_aside"])]),
    # an identifier with dots keeps them
    (["v1.2.set-aside-20261201T000000Z"], [],
     [("v1.2", "set_aside", "v1.2.set-aside-20261201T000000Z", "2026-12-01T00:00:00+00:00",
       KINDS["set_aside"])]),
    # names that only look alike are a person's folders, not listed
    (["A-6.kept-yesterday", "A-7.kept-20261201T093000Z.bak", "notes", ".kept-20261201T093000Z"],
     [], []),
    # oldest first, whatever the kind
    (["B-1", "B-2.kept-20261201T080000Z"], [finished("B-1", "2 uncommitted files")],
     [("B-2", "kept", "B-2.kept-20261201T080000Z", "2026-12-01T08:00:00+00:00", KINDS["kept"]),
      ("B-1", "stopped", "B-1", "2026-12-01T10:00:00+00:00", "2 uncommitted files")]),
])
def test_kept_work_lists_each_kept_folder_with_its_kind_and_time(
        names: list[str], lanes: list[dict[str, Any]],
        expected: list[tuple[str, str, str, str, str]]) -> None:
    found = kept_work(ROOT, names, lanes)
    assert [(i["issue"], i["kind"], Path(i["path"]).name, i["since"], i["detail"])
            for i in found] == expected
    assert all(Path(i["path"]).parent == ROOT for i in found)


def test_folder_names_lists_real_folders_only(tmp_path: Path) -> None:
    (tmp_path / "A-1.kept-20261201T093000Z").mkdir()
    (tmp_path / "file.kept-20261201T093000Z").write_text("x")
    (tmp_path / "link.kept-20261201T093000Z").symlink_to(tmp_path / "A-1.kept-20261201T093000Z")
    assert folder_names(tmp_path) == ("A-1.kept-20261201T093000Z",)


def test_folder_names_of_an_absent_root_is_empty(tmp_path: Path) -> None:
    assert folder_names(tmp_path / "nowhere") == ()


def test_a_folder_name_that_is_not_utf8_is_shown_escaped() -> None:
    """Breaker 27 F8: the name's lone surrogates made the dashboard answer 500."""
    name = os.fsdecode(b"\xff\xfeBAD.kept-20261201T093000Z")
    [item] = kept_work(ROOT, [name], [])
    assert item["issue"] == "\\xff\\xfeBAD"
    assert item["path"].endswith("\\xff\\xfeBAD.kept-20261201T093000Z")
    json.dumps(item, ensure_ascii=False).encode()  # no lone surrogate left


def test_a_lane_sealed_before_kept_work_was_shown_still_shows_it(tmp_path: Path) -> None:
    """Breaker 27 F7: a seal written by an older maestro lacks the entry's kept fields;
    the marker it sits in holds them."""
    state = LaneState(tmp_path, "OLD-1")
    state.write("lease.json", {"issue_id": "OLD-1", "run_id": "r", "attempt": 1})
    state.write("cleanup.json", {"reason": "cancelled", "worktree_kept": "1 uncommitted file",
                                 "cleaned_at": "2026-11-30T10:00:00+00:00"})
    seal_finished(state)
    record = state.read("cleanup.json")
    for key in ("worktree_kept", "kept_at"):
        del record["status"]["entry"][key]
    state.write("cleanup.json", record)
    read = sealed_read(state)
    assert read is not None  # still a seal: the folder did not change after the marker
    assert read.entry["worktree_kept"] == "1 uncommitted file"
    assert read.entry["kept_at"] == "2026-11-30T10:00:00+00:00"
