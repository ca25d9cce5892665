"""The plain front-matter reader agrees with ruamel.yaml wherever it answers at all."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.reader import Reader
from ruamel.yaml.scalarstring import LiteralScalarString

from maestro.errors import TrackerError
from maestro.trackers.files import FilesTracker, _dump
from maestro.trackers.files import _yaml as _tracker_yaml
from maestro.trackers.frontmatter import (
    _NON_PRINTABLE,
    decode,
    round_trip_mapping,
    simple_mapping,
    split,
)

CORPUS = Path(__file__).resolve().parents[1] / "badinput" / "corpus" / "issues"


def ruamel(front: str) -> Any:
    """What the tracker read before the plain reader existed (raises on invalid YAML)."""
    return YAML(typ="rt", pure=True).load(front) or {}


def typed(value: Any) -> Any:
    """``value`` with every scalar tagged by its plain type, so ``1 != True``."""
    if isinstance(value, dict):
        return ("map", [(typed(k), typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("seq", [typed(v) for v in value])
    if value is None or isinstance(value, bool):
        return value
    for kind in (int, float, str):
        if isinstance(value, kind):
            return (kind.__name__, kind(value))
    return (type(value).__name__, repr(value))


SIMPLE = """\
# written by a person
title: Fix the login page (Safari)   # keep this comment
state: In Progress
priority: 2
labels: [bug, 'good first issue', "ui"]
blocked_by:
  - WEB-1
  - 'WEB-2'
created_at: '2026-11-01T10:00:00+00:00'
empty:
"""


def test_the_characters_refused_are_those_ruamel_refuses() -> None:
    every_character = "".join(map(chr, range(0x110000)))
    assert (_NON_PRINTABLE.findall(every_character)
            == Reader.NON_PRINTABLE.findall(every_character))


def test_the_simple_shape_is_read_as_ruamel_reads_it() -> None:
    assert simple_mapping(SIMPLE) == {
        "title": "Fix the login page (Safari)", "state": "In Progress", "priority": 2,
        "labels": ["bug", "good first issue", "ui"], "blocked_by": ["WEB-1", "WEB-2"],
        "created_at": "2026-11-01T10:00:00+00:00", "empty": None}
    assert typed(simple_mapping(SIMPLE)) == typed(ruamel(SIMPLE))


@pytest.mark.parametrize("front", [
    "state: yes\n", "state: No\n", "state: null\n", "state: ~\n", "priority: 010\n",
    "priority: 1.5\n", "priority: +5\n", "priority: 0x1F\n", "created_at: 2026-11-01\n",
    "title: a: b\n", "title: a#b\n", "title: [a, b,]\n", "labels: ['a, b']\n",
    "title:\tx\n", "title: x\n  continued\n", "title: x\ntitle: y\n", "'title': x\n",
    "Title: x\n", "title: |\n  block\n", "title: &a x\n", "title: !tag x\n",
    "title: {a: 1}\n", "comments:\n  - id: 1\n    x:\n      a: b\n", "title: \x07\n",
    "labels:\n- a\n  - b\n",
    "title: résumé\n", "- a\n", "title: \"a\\tb\"\n",
], ids=repr)
def test_anything_outside_the_simple_shape_goes_to_ruamel(front: str) -> None:
    assert simple_mapping(front) is None


def test_every_issue_of_the_bad_input_corpus_reads_the_same() -> None:
    for path in sorted(CORPUS.glob("*.md")):
        text = path.read_bytes().decode("utf-8", errors="replace")
        try:
            front, _ = split(path, text.replace("\r\n", "\n"))
        except TrackerError:  # no fences: never reaches a reader
            continue
        simple = simple_mapping(front)
        assert simple is None or typed(simple) == typed(ruamel(front)), path


WORDS = ["Todo", "In Progress", "it's", "x'y", "a  b", "Fix (the) thing!", "yes", "No", "on",
         "NULL", "True", "y", "0", "-3", "12", "010", "1.5", "+5", "1_000", "0o7", ".inf",
         "2026-11-01", "a: b", "a #b", "a#b", "'q'", "'it''s'", "'a, b'", '"dq"', '"a\\"b"',
         "[a, b]", "[]", "[ ]", "[a,]", "['a, b']", "[x, 'y', 3]", "&x a", "*x", "!t a", "|",
         ">", "{a: 1}", "é", "- x", ":", "@x", "%x", "?x", "=", "<<", "a:", "", " "]
GOOD = ["Todo", "In Progress", "it's", "a  b", "Fix (the) thing!", "0", "-3", "12", "'q'",
        "'it''s'", '"dq"', "[a, b]", "[]", "[x, 'y', 3]", ""]
KEYS = ["True", "Title", "y", "a b", "null"]
GOOD_KEYS = ["title", "state", "labels", "blocked_by", "priority", "x_y"]
#: most draws from the simple shape, so the reader answers often enough to be checked
WORD = st.one_of(*[st.sampled_from(GOOD)] * 3, st.sampled_from(WORDS))
KEY = st.one_of(st.sampled_from(GOOD_KEYS), st.sampled_from(GOOD_KEYS), st.sampled_from(KEYS))
COMMENT = st.sampled_from(["", "", " # c", "# c", "  #c"])
ENTRY = st.one_of(
    st.builds(lambda k, sep, v, c: [f"{k}:{sep}{v}{c}"], KEY,
              st.sampled_from([" ", " ", "  ", ""]), WORD, COMMENT),
    st.builds(lambda k, c, i, items: [f"{k}:{c}"] + [f"{i}- {v}" for v in items], KEY, COMMENT,
              st.sampled_from(["", "  ", "    "]), st.lists(WORD, max_size=3)),
    st.sampled_from([[""], ["# note"], ["  # note"]]),
    st.sampled_from([["  more words"], ["-"], ["\t"], ["..."], ["key"], ["  - x"]]),
)


@settings(max_examples=500, deadline=None)
@given(entries=st.lists(ENTRY, max_size=6))
def test_the_plain_reader_never_disagrees_with_ruamel(entries: list[list[str]]) -> None:
    front = "\n".join(line for entry in entries for line in entry) + "\n"
    simple = simple_mapping(front)
    assert simple is None or typed(simple) == typed(ruamel(front))  # ruamel must not raise


COMMENTS = ("""\
title: A lane
state: Human Review
comments:
  - id: 1
    author: maestro
    at: '2026-11-30T12:37:18+00:00'
    body: |
      **maestro** · ready for review

        - indented more: kept, with its # and 'quotes'
      last line""" "  " """
  - id: 2
    author: Ann
    body: |
      one line
labels: [x]
""")


def test_maestros_comment_list_is_read_as_ruamel_reads_it() -> None:
    simple = simple_mapping(COMMENTS)
    assert simple is not None
    assert simple["comments"][0]["body"] == (
        "**maestro** · ready for review\n\n  - indented more: kept, with its # and 'quotes'\n"
        "last line  \n")
    assert typed(simple) == typed(ruamel(COMMENTS))


@pytest.mark.parametrize("front", [
    "c:\n  - body: |\n      a\n      \n      b\n",  # a line of spaces only
    "c:\n  - body: |-\n      a\n", "c:\n  - body: |2\n        a\n", "c:\n  - body: >\n      a\n",
    "c:\n  - body: |\n", "c:\n  - body: |\nx: y\n", "c:\n  -  id: 1\n     at: x\n",
    "c:\n  - id: 1\n     at: x\n", "c:\n  - id: 1\n  - x\n", "c:\n  - x\n  - id: 1\n",
    "c:\n  - id: 1\n    id: 2\n", "c:\n  - id: [a]\n", "c:\n  - id: 1\n\n    at: x\n",
], ids=repr)
def test_comment_lists_outside_maestros_shape_go_to_ruamel(front: str) -> None:
    assert simple_mapping(front) is None


BODY_LINE = st.sampled_from(["text", "", "  more", "# hash", "a: b", "- item", "'q' \"d\"",
                             "trailing  ", "---", "...", "é ü", "   ", "x #y", "|", "key:"])
BODY = st.lists(BODY_LINE, min_size=1, max_size=5)
MAP_VALUE = st.one_of(
    st.builds(lambda w: (False, w), WORD),
    st.builds(lambda lines: (True, lines), BODY))
MAP_ENTRY = st.tuples(st.sampled_from(["id", "author", "at", "body", "x_y", "id", "body", "True"]),
                      MAP_VALUE)


def _item(indent: str, entries: list[tuple[str, tuple[bool, Any]]], body_indent: str) -> list[str]:
    lines: list[str] = []
    for number, (key, (literal, value)) in enumerate(entries):
        lead = f"{indent}- " if number == 0 else f"{indent}  "
        if literal:
            lines.append(f"{lead}{key}: |")
            lines.extend(f"{body_indent}{line}" if line else "" for line in value)
        else:
            lines.append(f"{lead}{key}: {value}")
    return lines


@settings(max_examples=400, deadline=None)
@given(indent=st.sampled_from(["", "  ", "    "]),
       items=st.lists(st.lists(MAP_ENTRY, min_size=1, max_size=4), min_size=1, max_size=3),
       extra=st.sampled_from(["", "    ", "      ", "        ", "   "]),
       after=st.lists(ENTRY, max_size=2))
def test_the_comment_list_reader_never_disagrees_with_ruamel(
        indent: str, items: list[list[tuple[str, tuple[bool, Any]]]], extra: str,
        after: list[list[str]]) -> None:
    lines = ["title: x", "comments:"]
    for entries in items:
        lines += _item(indent, entries, indent + extra)
    lines += [line for entry in after for line in entry]
    front = "\n".join(lines) + "\n"
    simple = simple_mapping(front)
    if simple is None:
        return
    assert typed(simple) == typed(ruamel(front))  # ruamel must not raise either


@pytest.mark.parametrize("body", [
    "**maestro** · ready for review\n\n- `run_id`: r-1\n\n<!-- maestro:state {\"a\": 1} -->",
    "  starts indented\nthen not", "trailing spaces   \n\n\nafter blank lines", "---\n...",
    "tab\there", "ends with newlines\n\n\n", "", "é and 🎉",
], ids=repr)
def test_comments_the_tracker_writes_read_the_same_either_way(body: str, tmp_path: Path) -> None:
    tracker = FilesTracker(tmp_path, "T")
    tracker.create("Title", "Body.", identifier="T-1")
    tracker.comment("T-1", "first comment")
    tracker.comment("T-1", body)
    path = tmp_path / "T-1.md"
    front, _ = split(path, decode(path, path.read_bytes()))
    simple = simple_mapping(front)
    assert simple is None or typed(simple) == typed(ruamel(front))
    if body.strip() and "\t" not in body and not body.startswith(" "):
        assert simple is not None  # maestro's own comments take the quick path


def _edit(data: Any, state: str, label: str, body: str) -> None:
    """What the tracker's writes do to a document: a state, a label, a comment."""
    data["state"] = state
    if isinstance(data.get("labels"), list):
        data["labels"].append(label)
    comments = data.get("comments")
    if not isinstance(comments, list):
        comments = data["comments"] = CommentedSeq()
    entry = CommentedMap()
    entry.update({"id": len(comments) + 1, "author": "maestro", "at": "2026-11-30T12:00:00"})
    entry["body"] = LiteralScalarString(body.rstrip("\n") + "\n")
    comments.append(entry)


def _documents_agree(front: str, state: str, label: str, body: str) -> bool:
    """False when the quick loader declines; else asserts both dumps, before and after an
    edit, are ruamel.yaml's own."""
    quick = round_trip_mapping(front)
    if quick is None:
        return False
    loaded = _tracker_yaml().load(front)
    assert _dump(quick) == _dump(loaded)
    _edit(quick, state, label, body)
    _edit(loaded, state, label, body)
    assert _dump(quick) == _dump(loaded)
    return True


def test_the_quick_round_trip_document_dumps_as_ruamel_loads_it() -> None:
    assert _documents_agree(COMMENTS.replace("  \n", "\n"), "Done", "x", "**maestro** hi")
    assert _documents_agree(SIMPLE.split("\n", 1)[1].replace("   # keep this comment", ""),
                            "In Progress", "bug", "one\n\ntwo")


@pytest.mark.parametrize("front", [SIMPLE, "title: x\n\nstate: y\n", "title: x  # c\n",
                                   "labels:\n  - a  # c\n", "c:\n  - id: 1  # c\n"], ids=repr)
def test_comments_and_blank_lines_keep_ruamels_loader(front: str) -> None:
    assert round_trip_mapping(front) is None


STATES = st.sampled_from(["Todo", "In Progress", "Human Review", "Done", "yes", "it's", "a: b"])


#: entries without comments or blank lines, so the quick loader answers often
RT_KEY = st.sampled_from(GOOD_KEYS)
RT_WORD = st.sampled_from(GOOD)
RT_ENTRY = st.one_of(
    st.builds(lambda k, v: [f"{k}: {v}"], RT_KEY, RT_WORD),
    st.builds(lambda k, i, items: [f"{k}:"] + [f"{i}- {v}" for v in items], RT_KEY,
              st.sampled_from(["", "  ", "    "]), st.lists(RT_WORD, max_size=3)),
    st.builds(lambda k, items: [f"{k}: [{', '.join(items)}]"], RT_KEY,
              st.lists(st.sampled_from(GOOD[:-1]), max_size=3)),
)


@settings(max_examples=300, deadline=None)
@given(entries=st.lists(RT_ENTRY, max_size=4,
                        unique_by=lambda entry: entry[0].partition(":")[0]), state=STATES,
       label=st.sampled_from(GOOD),
       body=st.lists(BODY_LINE, min_size=1, max_size=4).map("\n".join))
def test_the_quick_round_trip_document_never_dumps_otherwise(
        entries: list[list[str]], state: str, label: str, body: str) -> None:
    front = "\n".join(line for entry in entries for line in entry) + "\n"
    _documents_agree(front, state, label, body)


@settings(max_examples=300, deadline=None)
@given(indent=st.sampled_from(["", "  ", "    "]),
       items=st.lists(st.lists(MAP_ENTRY, min_size=1, max_size=4), min_size=1, max_size=3),
       extra=st.sampled_from(["", "    ", "      ", "        ", "   "]),
       state=STATES, body=st.lists(BODY_LINE, min_size=1, max_size=4).map("\n".join))
def test_the_quick_round_trip_of_comment_lists_never_dumps_otherwise(
        indent: str, items: list[list[tuple[str, tuple[bool, Any]]]], extra: str, state: str,
        body: str) -> None:
    lines = ["title: x", "state: Todo", "labels: []", "comments:"]
    for entries in items:
        lines += _item(indent, entries, indent + extra)
    _documents_agree("\n".join(lines) + "\n", state, "bug", body)


@pytest.mark.parametrize("char", ["\x85", "\u2028", "\u2029"], ids=repr)
@pytest.mark.parametrize("template", ["title: 'Fix{c}it'\n", "labels: ['x {c}y']\n",
                                      "comments:\n  - id: 1\n    body: |\n      a{c}b\n"])
def test_yaml_line_breaks_besides_newline_leave_both_quick_readers(
        char: str, template: str) -> None:
    front = template.format(c=char)
    assert simple_mapping(front) is None and round_trip_mapping(front) is None


@pytest.mark.parametrize("body", [
    "line one\u2028line two", "nel\x85here", "para\u2029graph", "nul\x00byte",
    "carriage\r\nreturn", "bell\x07", "bom\ufeffinside", "  indented\u2028and broken",
], ids=repr)
def test_a_comment_body_reads_back_as_written_through_later_writes(
        body: str, tmp_path: Path) -> None:
    tracker = FilesTracker(tmp_path, "T")
    tracker.create("Title", "Body.", identifier="T-1")
    tracker.comment("T-1", body)
    for label in ("a", "b"):
        tracker.add_label("T-1", label)
        tracker.remove_label("T-1", label)
    assert [comment.body for comment in tracker.comments("T-1")] == [body]
