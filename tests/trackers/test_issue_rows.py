"""Cache rows of the files tracker: a row gives back exactly the parse, or is refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from maestro.errors import TrackerError
from maestro.model import Issue
from maestro.trackers import parse_cache
from maestro.trackers.files import FilesTracker
from maestro.trackers.issue_rows import from_row, to_row, trusted_construction_works

KEY = (65024, 2719998, 148, 1796032209710471358, 1796032209710471359)
ROW = ["T-1.md", *KEY, "Title", "Todo", "Body", ["a"], ["T-2"], 2, "2026-11-02T10:00:00+00:00"]


@pytest.mark.parametrize("front", [
    "title: Plain\nstate: Todo\nlabels: []\nblocked_by: []\n",
    "title: 'Quoted: yes'\nstate: In Progress\nlabels: [Bug, ui]\nblocked_by: [T-2, T-3]\n"
    "priority: 0\ncreated_at: '2026-11-02T10:00:00+02:00'\n",
    "title: Dated\nstate: Todo\ncreated_at: 2026-11-02\npriority: -3\n",
    "title: Stamped\nstate: Todo\ncreated_at: 2026-11-02 10:00:00.123456\n",
], ids=repr)
def test_a_row_gives_back_the_parse_it_was_made_from(tmp_path: Path, front: str) -> None:
    parse_cache.forget_all()
    (tmp_path / "T-1.md").write_text(f"---\n{front}---\nThe body.\n")
    parsed = FilesTracker(tmp_path, "T")._load(tmp_path / "T-1.md")
    row = to_row("T-1.md", KEY, parsed)
    assert row is not None
    name, key, restored = from_row(row)
    assert (name, key) == ("T-1.md", KEY)
    assert isinstance(restored, Issue)
    assert restored == parsed
    assert restored.model_fields_set == parsed.model_fields_set
    assert restored.model_dump() == parsed.model_dump()
    offset = [i.created_at.utcoffset() if i.created_at else None for i in (restored, parsed)]
    assert offset[0] == offset[1]


def test_a_broken_file_row_gives_back_its_error() -> None:
    row = to_row("T-1.md", KEY, TrackerError("T-1.md: title: expected a non-empty string"))
    assert row is not None
    assert from_row(row)[:2] == ("T-1.md", KEY)
    restored = from_row(row)[2]
    assert isinstance(restored, TrackerError)
    assert str(restored) == "T-1.md: title: expected a non-empty string"


def test_blocker_states_of_a_copy_do_not_reach_the_row_issue() -> None:
    _, _, issue = from_row(list(ROW))
    assert isinstance(issue, Issue)
    copy = issue.model_copy(update={"blocker_states": {"T-2": "Done"}})
    assert issue.blocker_states == {} and "blocker_states" not in issue.model_fields_set
    assert copy.blocker_states == {"T-2": "Done"}


def test_an_issue_a_row_cannot_restore_is_not_written() -> None:
    _, _, issue = from_row(list(ROW))
    assert isinstance(issue, Issue)
    assert to_row("T-9.md", KEY, issue) is None  # its id is not the file's name
    assert to_row("T-1.md", KEY, issue.model_copy(update={"blocker_states": {"T-2": "Done"}})
                  ) is None


def damaged(index: int, value: Any) -> list[Any]:
    row = list(ROW)
    row[index] = value
    return row


@pytest.mark.parametrize("row", [
    None, {}, ROW[:12], [*ROW, None], ["T-1.md", *KEY],
    damaged(0, "T-1.txt"), damaged(0, 7), damaged(1, "65024"), damaged(5, 1.5),
    damaged(6, None), damaged(7, ["Todo"]), damaged(8, 3), damaged(9, "a"),
    damaged(9, [1]), damaged(10, [["T-2"]]), damaged(11, True), damaged(11, "2"),
    damaged(12, "yesterday"), damaged(12, "2026-11-02T10:00:00"), damaged(12, 1700000000),
    ["T-1.md", *KEY, 404],
], ids=repr)
def test_a_row_not_exactly_as_written_is_refused(row: Any) -> None:
    with pytest.raises(ValueError):
        from_row(row)


@pytest.mark.parametrize("row", [
    damaged(0, "--help.md"), damaged(0, "../x.md"), damaged(6, ""), damaged(6, " padded "),
    damaged(7, ""), damaged(7, "Todo "), damaged(8, " body "), damaged(9, ["URGENT"]),
    damaged(9, ["a", "a"]),
], ids=repr)
def test_a_row_holding_what_no_issue_file_parses_to_is_refused(row: Any) -> None:
    # The cache on disk is writable by the agent without the sandbox: a hand-made row may
    # not carry an identifier or a value the parser would have refused or normalised.
    with pytest.raises(ValueError):
        from_row(row)


def test_the_fast_construction_matches_validation_with_this_pydantic() -> None:
    assert trusted_construction_works()
