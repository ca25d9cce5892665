"""An issue file's YAML front matter, read quickly: a plain reader for the simple shape
people and maestro write, ruamel.yaml for everything else.

ruamel.yaml's pure-Python round-trip loader costs about 0.7 ms for a ten-line document,
which is most of a tick over thousands of issue files. Most front matters are flat
``key: value`` lines, flow lists (``[a, b]``) and block lists (``- a``) of plain words,
quoted strings and decimal integers, plus the ``comments`` list maestro appends (a block
list of flat mappings whose values are such scalars or literal ``|`` blocks: once a lane
has commented, every read of its issue met it, and each fell back to ruamel.yaml at 3-5 ms).
:func:`simple_mapping` reads exactly that shape and
answers None for anything else (other block scalars, nested mappings, anchors, tags, tabs, plain
scalars YAML could resolve to a bool, null, float, date or octal, duplicate keys...), which
then goes through ruamel.yaml as before. Within the shape it accepts, it yields the same
values as ruamel.yaml (``tests/trackers/test_files_front_matter.py`` checks that as a property),
so which reader ran never changes an issue.

Writes keep ruamel.yaml's round trip (comments, key order and quoting survive): the
document an edit changes is ruamel.yaml's loader's unless :func:`round_trip_mapping` can
build the very same document (the simple shape without a YAML comment or a blank line),
which is a tenth of the CPU; such a document is written back by re-emitting only the keys
the edit changed (:mod:`maestro.trackers.frontmatter_splice`), any other by a whole dump.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError

from maestro.errors import IssueFileError

_FENCE = re.compile(r"\A---[ \t]*\n(.*?)^---[ \t]*\n?", re.DOTALL | re.MULTILINE)

Scalar = str | int | None


def decode(path: Path, raw: bytes) -> str:
    """The file's text as ``Path.read_text`` gives it: UTF-8 (an editor's byte order mark
    is dropped) with universal newlines."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise IssueFileError(f"{path}: expected UTF-8 Markdown, found binary data") from None
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def split(path: Path, text: str) -> tuple[str, str]:
    """``(front matter, body)``; a file without the ``---`` fences is an error."""
    match = _FENCE.match(text)
    if not match:
        raise IssueFileError(
            f"{path}: expected YAML front matter between '---' lines at the top of the file"
        )
    return match.group(1), text[match.end():]


def yaml_problem(exc: YAMLError) -> str:
    """ruamel.yaml's multi-line error as one line: what is wrong and where (``line L
    column C`` of the front matter), the quoted source lines left out."""
    problem = getattr(exc, "problem", None) or getattr(exc, "context", None)
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    text = " ".join(str(problem or exc).split())
    if len(text) > 120:
        text = text[:117] + "..."
    if mark is not None:
        text += f" (front matter line {mark.line + 1}, column {mark.column + 1})"
    return text


def read_front_matter(path: Path, front: str) -> Mapping[str, Any]:
    """The front matter as a mapping (read only; do not edit the result)."""
    simple = simple_mapping(front)
    if simple is not None:
        return simple
    try:
        data = _round_trip().load(front)
    except YAMLError as exc:
        raise IssueFileError(f"{path}: front matter: invalid YAML: {yaml_problem(exc)}") from None
    if data is None:
        return {}
    if not isinstance(data, CommentedMap):
        raise IssueFileError(f"{path}: front matter: expected a mapping of keys")
    return data


def _round_trip() -> YAML:
    yaml = YAML(typ="rt", pure=True)
    yaml.preserve_quotes = True
    return yaml


# -- the simple shape ----------------------------------------------------------------------

#: keys: lower-case words that YAML reads as strings
_KEY = r"[a-z_][a-z0-9_]*"
#: a plain word or phrase YAML 1.1 and 1.2 both read as a string: starts with a letter, no
#: indicator that could start a comment, a mapping, a flow collection, an alias or a tag
_PLAIN = r"[A-Za-z][A-Za-z0-9 _.()/+@&!?%=;'\"-]*"
_FLOW_PLAIN = r"[A-Za-z][A-Za-z0-9 _./()+@&!?%=;'\"-]*"
_SINGLE = r"'(?:[^'\n]|'')*'"
_DOUBLE = r'"[^"\\\n]*"'
_INT = r"-?(?:0|[1-9][0-9]{0,17})"
_COMMENT = r"(?:[ ]+#.*)?"
_VALUE = rf"(?:{_SINGLE}|{_DOUBLE}|{_INT}|{_PLAIN})"
#: inside ``[...]`` a comma separates items, so quoted items hold none
_FLOW_ITEM = rf"[ ]*(?:'(?:[^',\n]|'')*'|\"[^\",\\\n]*\"|{_INT}|{_FLOW_PLAIN})[ ]*"
_LINE = re.compile(rf"(?P<key>{_KEY}):(?:[ ]+(?P<value>{_VALUE}|\[(?P<flow>[^\]\n]*)\]))?"
                   rf"[ ]*{_COMMENT}")
_ITEM = re.compile(rf"(?P<indent>[ ]*)-[ ]+(?P<value>{_VALUE}){_COMMENT}")
_FLOW_ITEMS = re.compile(rf"{_FLOW_ITEM}(?:,{_FLOW_ITEM})*")
#: characters YAML does not allow in a document (ruamel.yaml refuses them): everything
#: outside YAML's printable set (tab, LF, CR, x20-x7E, x85, xA0-uD7FF, uE000-uFFFD and
#: above uFFFF), written as the class of what is refused, which compiles in a tenth of the
#: time of the negated class of what is allowed (0.6 against 5.8 ms, paid by every
#: process that reads an issue; tests/trackers/test_files_front_matter.py holds it to ruamel.yaml)
_NON_PRINTABLE = re.compile("[\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x84\x86-\x9F\uD800-\uDFFF"
                            "\uFFFE\uFFFF]")
#: characters YAML reads as line breaks besides ``\n`` and ``\r`` (NEL, LS, PS): ruamel
#: folds and trims around them inside scalars, which the simple reader does not model
_OTHER_BREAKS = re.compile("[\x85\u2028\u2029]")
_BLANK = re.compile(r"[ ]*(?:#.*)?")
#: the first line of an item of a list of mappings (``  - id: 1``)
_MAP_ITEM = re.compile(rf"(?P<indent>[ ]*)-[ ]+{_KEY}:.*")
#: a key whose value is a literal block scalar with the default (clip) chomping
_LITERAL = re.compile(rf"(?P<key>{_KEY}):[ ]+\|")
#: plain scalars YAML 1.1 or 1.2 reads as something other than a string
_SPECIAL = frozenset({"null", "true", "false", "yes", "no", "on", "off", "y", "n"})


def simple_mapping(front: str) -> dict[str, Any] | None:
    """The front matter read as the simple shape, or None when it is not that shape."""
    return _read_simple(front, _PLAIN_STYLE)


def round_trip_mapping(front: str) -> Any | None:
    """The front matter as ruamel.yaml's round-trip loader (``preserve_quotes``) builds it
    (a ``CommentedMap``, quoted strings as its quoted string types, lists with their flow
    or block style, literal blocks as ``LiteralScalarString``) for the simple shape without
    a YAML comment or a blank line, which would be formatting to keep; None otherwise.
    Dumping it, edited or not, gives ruamel.yaml's bytes for a document it loaded itself
    (``tests/trackers/test_files_front_matter.py`` holds the two equal as a property), at
    a tenth of the load's cost."""
    return _read_simple(front, _RoundTripStyle())


class _PlainStyle:
    """Values as plain Python objects (what :func:`simple_mapping` answers)."""

    round_trip = False

    def scalar(self, token: str, value: Any) -> Any:
        return value

    def literal(self, text: str) -> Any:
        return text

    def document(self, data: dict[str, Any], flow: set[str]) -> Any:
        return data


class _RoundTripStyle(_PlainStyle):
    """Values as ruamel.yaml's round-trip loader makes them (imported on first use)."""

    round_trip = True

    def __init__(self) -> None:
        from ruamel.yaml.scalarstring import (
            DoubleQuotedScalarString,
            LiteralScalarString,
            SingleQuotedScalarString,
        )

        self._quoted = {"'": SingleQuotedScalarString, '"': DoubleQuotedScalarString}
        self._literal = LiteralScalarString

    def scalar(self, token: str, value: Any) -> Any:
        quoted = self._quoted.get(token[:1])
        return quoted(value) if quoted is not None else value

    def literal(self, text: str) -> Any:
        return self._literal(text)

    def document(self, data: dict[str, Any], flow: set[str]) -> Any:
        from ruamel.yaml.comments import CommentedSeq

        doc = CommentedMap()
        for key, value in data.items():
            if isinstance(value, list):
                seq = CommentedSeq(CommentedMap(item) if isinstance(item, dict) else item
                                   for item in value)
                for item in seq:
                    if isinstance(item, CommentedMap):
                        item.fa.set_block_style()
                if key in flow:
                    if seq:  # ruamel.yaml leaves an empty ``[]`` without a style
                        seq.fa.set_flow_style()
                else:
                    seq.fa.set_block_style()
                value = seq
            doc[key] = value
        doc.fa.set_block_style()
        return doc


_PLAIN_STYLE = _PlainStyle()


def _read_simple(front: str, style: _PlainStyle) -> Any | None:
    if "\t" in front or _NON_PRINTABLE.search(front) or _OTHER_BREAKS.search(front):
        return None
    data: dict[str, Any] = {}
    flow: set[str] = set()
    open_list: list[Any] | None = None
    list_indent: int | None = None
    lines = front.split("\n")
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if _BLANK.fullmatch(line):
            if style.round_trip and (line or index < len(lines)):
                return None  # a blank line or a YAML comment: ruamel.yaml keeps those
            continue
        if style.round_trip and "#" in line:
            return None
        item = _ITEM.fullmatch(line)
        if item is not None:
            indent = len(item.group("indent"))
            if open_list is None or (list_indent is not None and indent != list_indent):
                return None
            list_indent = indent
            value = _scalar(item.group("value"))
            if value is _NOT_SIMPLE:
                return None
            open_list.append(style.scalar(item.group("value"), value))
            continue
        if _MAP_ITEM.fullmatch(line) is not None:
            if open_list is None or open_list:  # only right under its key, never mixed
                return None
            mappings = _mapping_list(lines, index - 1, style)
            if mappings is None:
                return None
            open_list.extend(mappings[0])
            index, open_list = mappings[1], None
            continue
        match = _LINE.fullmatch(line)
        if match is None or match.group("key") in data or match.group("key") in _SPECIAL:
            return None
        open_list, list_indent = None, None
        key = match.group("key")
        if match.group("flow") is not None:
            items = _flow(match.group("flow"), style)
            if items is None:
                return None
            data[key] = items
            flow.add(key)
        elif match.group("value") is not None:
            value = _scalar(match.group("value"))
            if value is _NOT_SIMPLE:
                return None
            data[key] = style.scalar(match.group("value"), value)
        else:
            open_list = []
            data[key] = _Pending(open_list)
    return style.document({key: value.close() if isinstance(value, _Pending) else value
                           for key, value in data.items()}, flow)


class _Pending:
    """A key without a value: null, or the block list that follows it."""

    def __init__(self, items: list[Any]) -> None:
        self.items = items

    def close(self) -> list[Any] | None:
        return self.items or None


_NOT_SIMPLE = object()


def _scalar(token: str) -> Scalar | object:
    token = token.rstrip(" ")
    if token[0] == "'":
        return token[1:-1].replace("''", "'")
    if token[0] == '"':
        return token[1:-1]
    if token[0] == "-" or token[0].isdigit():
        return int(token)
    if token.casefold() in _SPECIAL:
        return _NOT_SIMPLE
    return token


def _mapping_list(lines: list[str], start: int, style: _PlainStyle
                  ) -> tuple[list[dict[str, Any]], int] | None:
    """The block list of flat mappings whose first item starts at ``lines[start]``, as
    maestro writes ``comments`` (``  - id: 1`` then ``    author: maestro``, ``    body: |``
    and the body's lines): each value a simple scalar or a literal block. Returns the
    items and the index of the first line after the list, or None for anything else."""
    first = _MAP_ITEM.fullmatch(lines[start])
    assert first is not None
    indent = len(first.group("indent"))
    key_indent = indent + 2
    items: list[dict[str, Any]] = []
    index = start
    while index < len(lines):
        line = lines[index]
        item = _MAP_ITEM.fullmatch(line)
        if item is not None and len(item.group("indent")) == indent:
            items.append({})
            entry = line[key_indent:]
        elif items and _at_indent(line, key_indent):
            entry = line[key_indent:]
        else:
            break
        index += 1
        value: object
        literal = _LITERAL.fullmatch(entry)
        if literal is not None:
            key = literal.group("key")
            block = _literal(lines, index, key_indent)
            if block is None:
                return None
            value, index = block
            value = style.literal(value)
        else:
            match = _LINE.fullmatch(entry)
            if style.round_trip and "#" in entry:
                return None
            if match is None or match.group("value") is None or match.group("flow") is not None:
                return None
            key, value = match.group("key"), _scalar(match.group("value"))
            if value is _NOT_SIMPLE:
                return None
            value = style.scalar(match.group("value"), value)
        if key in items[-1] or key in _SPECIAL:
            return None
        items[-1][key] = value
    return items, index


def _at_indent(line: str, indent: int) -> bool:
    """Whether ``line`` starts with exactly ``indent`` spaces and then text."""
    return line[:indent] == " " * indent and line[indent:indent + 1] not in ("", " ")


def _literal(lines: list[str], start: int, parent: int) -> tuple[str, int] | None:
    """A literal block scalar (``|``: clip chomping, indentation found from its first
    line) whose lines start at ``lines[start]`` under a key indented by ``parent``; its
    text and the index of the first line after it (trailing empty lines stay unread).
    None when it holds a line of spaces only or no text (left to ruamel.yaml)."""
    content: list[str] = []
    indent: int | None = None
    index = end = start
    while index < len(lines):
        line = lines[index]
        if line:
            lead = len(line) - len(line.lstrip(" "))
            if lead == len(line):
                return None
            if indent is None:
                if lead <= parent:
                    break
                indent = lead
            elif lead < indent:
                break
            end = index + 1
        content.append(line[indent or 0:])
        index += 1
    if indent is None:
        return None
    return "\n".join(content[:end - start]) + "\n", end


def _flow(inner: str, style: _PlainStyle) -> list[Any] | None:
    if not inner.strip(" "):
        return []
    if not _FLOW_ITEMS.fullmatch(inner):
        return None
    items: list[Any] = []
    for part in inner.split(","):
        value = _scalar(part.strip(" "))
        if value is _NOT_SIMPLE:
            return None
        items.append(style.scalar(part.strip(" "), value))
    return items
