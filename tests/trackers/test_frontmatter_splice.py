"""Writing only the keys an edit changed gives the document a whole dump would give."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import LiteralScalarString

from maestro.trackers import files
from maestro.trackers.files import FilesTracker
from maestro.trackers.files import _dump as dump
from maestro.trackers.frontmatter import decode, round_trip_mapping, split
from maestro.trackers.frontmatter_splice import plain, snapshot, splice

Edit = Callable[[CommentedMap], None]


def read(front: str) -> Any:
    """What ruamel.yaml reads, as plain typed data."""
    return plain(YAML(typ="rt", pure=True).load(front) or {})


def set_state(state: str) -> Edit:
    def edit(data: CommentedMap) -> None:
        data["state"] = state
    return edit


def add_label(label: str) -> Edit:
    def edit(data: CommentedMap) -> None:
        labels = data.get("labels")
        if not isinstance(labels, list):
            labels = data["labels"] = CommentedSeq()
        labels.append(label)
    return edit


def add_comment(body: str) -> Edit:
    def edit(data: CommentedMap) -> None:
        comments = data.get("comments")
        if not isinstance(comments, list):
            comments = data["comments"] = CommentedSeq()
        entry = CommentedMap()
        entry.update({"id": len(comments) + 1, "author": "maestro",
                      "at": "2026-11-30T12:00:00+00:00"})
        entry["body"] = LiteralScalarString(body.rstrip("\n") + "\n")
        comments.append(entry)
    return edit


def spliced(front: str, *edits: Edit) -> tuple[str | None, str]:
    """``(splice's text or None, the whole dump)`` of ``front`` after ``edits``."""
    data = round_trip_mapping(front)
    assert isinstance(data, CommentedMap), front
    before = snapshot(data)
    for edit in edits:
        edit(data)
    return splice(front, before, data, dump), dump(data)


ISSUE = """\
title: Fix the login page
state: Todo
labels: [bug]
blocked_by: []
created_at: '2026-11-01T10:00:00+00:00'
comments:
  - id: 1
    author: maestro
    at: '2026-11-30T12:37:18+00:00'
    body: |
      **maestro** · claimed

      - `run_id`: r-1
"""


@pytest.mark.parametrize("edit", [
    set_state("In Progress"), set_state("it's done"), set_state("yes"), set_state("a: b"),
    add_label("needs attention"), add_comment("ready for review\n\n- one"),
    add_comment("  starts indented"), add_comment("nul\x00byte"),
], ids=["state", "quoted-state", "bool-like-state", "colon-state", "label", "comment",
        "indented-comment", "double-quoted-comment"])
def test_a_document_ruamel_wrote_comes_out_as_its_whole_dump(edit: Edit) -> None:
    text, whole = spliced(ISSUE, edit)
    assert text is None or text == whole


def test_a_state_move_and_a_comment_take_the_splice() -> None:
    assert spliced(ISSUE, set_state("Human Review"))[0] is not None
    assert spliced(ISSUE, add_comment("next"))[0] is not None
    assert spliced(ISSUE, set_state("Done"), add_comment("done"), add_label("x"))[0] is not None


def test_a_first_comment_is_a_new_key_at_the_end() -> None:
    front = ISSUE.split("comments:")[0]
    text, whole = spliced(front, add_comment("first"))
    assert text == whole


def test_lines_a_person_formatted_stay_as_they_were() -> None:
    front = "title:   Fix it\nstate: Todo\nlabels:   [bug,ui]\npriority: 2\n"
    text, whole = spliced(front, set_state("In Progress"))
    assert text == "title:   Fix it\nstate: In Progress\nlabels:   [bug,ui]\npriority: 2\n"
    assert read(text) == read(whole)


def test_an_item_appended_under_a_list_indented_otherwise_still_reads_as_the_list() -> None:
    front = "title: x\nlabels:\n- a\n- b\nstate: Todo\n"
    text, whole = spliced(front, add_label("c"))
    assert text is None or read(text) == read(whole)
    assert read(whole)["labels"] == [("str", "a"), ("str", "b"), ("str", "c")]


def test_a_removed_key_is_left_to_the_whole_dump() -> None:
    data = round_trip_mapping(ISSUE)
    assert isinstance(data, CommentedMap)
    before = snapshot(data)
    del data["blocked_by"]
    assert splice(ISSUE, before, data, dump) is None


def test_a_splice_that_would_read_back_otherwise_is_refused() -> None:
    data = round_trip_mapping(ISSUE)
    assert isinstance(data, CommentedMap)
    before = snapshot(data)
    data["state"] = "Done"
    assert splice(ISSUE, before, data, lambda _doc: "state: Todo\n") is None


WORD = st.sampled_from(["Todo", "In Progress", "it's", "a  b", "Fix (the) thing!", "0", "-3",
                        "'q'", "'it''s'", '"dq"', "x"])
KEY = st.sampled_from(["title", "state", "labels", "blocked_by", "priority", "x_y"])
ENTRY = st.one_of(
    st.builds(lambda k, v: [f"{k}: {v}"], KEY, WORD),
    st.builds(lambda k, i, items: [f"{k}:"] + [f"{i}- {v}" for v in items], KEY,
              st.sampled_from(["", "  ", "    "]), st.lists(WORD, max_size=3)),
    st.builds(lambda k, items: [f"{k}: [{', '.join(items)}]"], KEY,
              st.lists(WORD, max_size=3)),
)
BODY = st.lists(st.sampled_from(["text", "", "  more", "# hash", "a: b", "- item", "---",
                                 "trailing  ", "é", "x #y", "|"]),
                min_size=1, max_size=4).map("\n".join)
EDIT = st.one_of(st.builds(set_state, WORD), st.builds(add_label, WORD),
                 st.builds(add_comment, BODY))


@settings(max_examples=400, deadline=None)
@given(entries=st.lists(ENTRY, max_size=4, unique_by=lambda entry: entry[0].partition(":")[0]),
       edits=st.lists(EDIT, min_size=1, max_size=3))
def test_any_edit_of_the_simple_shape_reads_back_as_the_whole_dump(
        entries: list[list[str]], edits: list[Edit]) -> None:
    front = "\n".join(line for entry in entries for line in entry) + "\n" if entries else ""
    if round_trip_mapping(front) is None:
        return
    text, whole = spliced(front, *edits)
    if text is not None:
        assert read(text) == read(whole)
    canonical = dump(round_trip_mapping(front))
    if round_trip_mapping(canonical) is not None:
        text, whole = spliced(canonical, *edits)
        assert text is None or text == whole


def test_the_tracker_writes_what_it_wrote_before(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    outcomes: dict[str, bytes] = {}
    for mode in ("splice", "whole"):
        if mode == "whole":
            monkeypatch.setattr(files, "splice", lambda *_args: None)
        folder = tmp_path / mode
        tracker = FilesTracker(folder, "T")
        tracker.create("Title", "Body.", identifier="T-1")
        for step in range(3):
            tracker.transition("T-1", "In Progress" if step % 2 else "Human Review")
            tracker.comment("T-1", f"comment {step}\n\n- a list")
            tracker.add_label("T-1", f"label {step}")
        tracker.remove_label("T-1", "label 1")
        raw = (folder / "T-1.md").read_bytes()
        outcomes[mode] = re.sub(rb"'\d{4}-\d\d-\d\dT[\d:]{8}\+00:00'", b"TIME", raw)
    assert b"created_at: TIME" in outcomes["whole"]  # the times were taken out
    assert outcomes["splice"] == outcomes["whole"]


def test_a_person_s_file_keeps_its_untouched_lines(tmp_path: Path) -> None:
    tracker = FilesTracker(tmp_path, "T")
    (tmp_path / "T-1.md").write_text(
        "---\ntitle:   A person's issue\nstate: Todo\nlabels:   [bug,ui]\n---\nBody.\n")
    tracker.transition("T-1", "In Progress")
    path = tmp_path / "T-1.md"
    front, body = split(path, decode(path, path.read_bytes()))
    assert front == "title:   A person's issue\nstate: In Progress\nlabels:   [bug,ui]\n"
    assert body == "Body.\n"
