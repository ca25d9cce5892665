"""Write an edited front matter by re-emitting only the keys the edit changed.

Every write of the files tracker (a state move, a label, a comment: about twelve a lane)
used to dump the whole front matter through ruamel.yaml's emitter, whose cost grows with
the document: 7-12 ms for a fresh issue, 20-70 ms once a lane has left sixty comments,
nearly all of it in the emitter. An edit changes one or two keys. So, for a document in the
simple shape :func:`~maestro.trackers.frontmatter.round_trip_mapping` reads (one line per
scalar, block or flow lists, maestro's ``comments`` list; no YAML comment, no blank line),
:func:`splice` keeps every untouched key's lines as they are and has ruamel.yaml emit only:

* a changed key, as a one-key document (``state: Done``, ``labels: [a, b]``), in place of
  its old lines;
* items appended to a block list (a new comment), as a one-key document holding only the new
  items, after the list's last line;
* a new key, as a one-key document at the end (where ruamel.yaml puts a key added to a
  round-trip mapping).

A top-level key's lines do not depend on its neighbours in a block mapping, so a document
ruamel.yaml wrote itself comes out byte for byte as its whole dump would
(``tests/trackers/test_frontmatter_splice.py`` holds that as a property); lines a person
formatted otherwise stay as they were instead of being re-indented.

It is never trusted blind: the result is read back with the plain reader
(:func:`~maestro.trackers.frontmatter.simple_mapping`, which agrees with ruamel.yaml wherever
it answers) and must give exactly the edited values. A removed or reordered key, a value
outside the simple shape, or any disagreement answers None, and the caller dumps the whole
document as before.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from maestro.trackers.frontmatter import simple_mapping

#: a top-level key's first line (the simple shape's keys; a list item or a continuation
#: line starts with ``-`` or a space)
_TOP_KEY = re.compile(r"([a-z_][a-z0-9_]*):(?: |$)")

Dump = Callable[[Any], str]


def plain(value: Any) -> Any:
    """``value`` as plain, typed data (``str`` subclasses as ``str``, round-trip maps and
    lists as ``dict`` and ``list``), to compare documents whatever loader built them."""
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, str):
        return ("str", str(value))
    if isinstance(value, bool) or value is None:
        return value
    return (type(value).__name__, value)


def shape(value: Any) -> Any:
    """What an edit can change about ``value``: its plain data, the exact scalar types
    (a quoted string stays quoted) and each list's flow or block style."""
    if isinstance(value, Mapping):
        return ("map", [(key, shape(item)) for key, item in value.items()])
    if isinstance(value, list):
        flow = value.fa.flow_style() if isinstance(value, CommentedSeq) else None
        return ("seq", flow, [shape(item) for item in value])
    return (type(value), value)


def snapshot(data: Mapping[str, Any]) -> dict[str, Any]:
    """Each key's :func:`shape`, taken before an edit so :func:`splice` can see what it
    changed."""
    return {key: shape(value) for key, value in data.items()}


def splice(front: str, before: Mapping[str, Any], data: CommentedMap, dump: Dump) -> str | None:
    """The front matter ``front`` with the edit that turned :func:`snapshot` ``before``
    into ``data`` written in, or None when only a whole dump can write it (see the module).

    ``dump`` is the tracker's emitter (a mapping to its YAML text), so the lines written
    are the ones a whole dump would write."""
    keys = list(data)
    if list(before) != keys[:len(before)]:
        return None  # a key removed or moved: ruamel.yaml's order rules, not ours
    lines = front.split("\n")
    if lines[-1] != "":
        return None
    starts = _key_lines(lines)
    if starts is None or list(starts) != list(before):
        return None
    bounds = [*starts.values(), len(lines) - 1]
    out: list[str] = []
    for number, key in enumerate(before):
        region = lines[bounds[number]:bounds[number + 1]]
        old, new = before[key], shape(data[key])
        if old == new:
            out += region
            continue
        added = _appended(old, data[key])
        if added is not None:
            out += region + _one_key(dump, key, added)[1:]
        else:
            out += _one_key(dump, key, data[key])
    for key in keys[len(before):]:
        out += _one_key(dump, key, data[key])
    out.append("")
    result = "\n".join(out)
    read_back = simple_mapping(result)
    if read_back is None or plain(read_back) != plain(data):
        return None
    return result


def _key_lines(lines: list[str]) -> dict[str, int] | None:
    """Each top-level key's first line index, in order; None when a key repeats or the
    first line is not a key. (An empty line is inside a literal block: the simple shape
    has no blank line elsewhere.)"""
    starts: dict[str, int] = {}
    for index, line in enumerate(lines[:-1]):
        if line[:1] in ("", " ", "-"):
            continue
        match = _TOP_KEY.match(line)
        if match is None or match.group(1) in starts:
            return None
        starts[match.group(1)] = index
    if lines[:-1] and 0 not in starts.values():
        return None
    return starts


def _appended(old: Any, value: Any) -> CommentedSeq | None:
    """The items added at the end of block list ``value`` whose shape before the edit was
    ``old`` (its other items and style unchanged), as a block list; None for any other
    change."""
    if not isinstance(value, CommentedSeq) or old[0] != "seq" or old[1] is not False:
        return None
    if shape(value)[1] is not False or len(value) <= len(old[2]):
        return None
    if [shape(item) for item in value[:len(old[2])]] != old[2]:
        return None
    added = CommentedSeq(value[len(old[2]):])
    added.fa.set_block_style()
    return added


def _one_key(dump: Dump, key: str, value: Any) -> list[str]:
    """The lines a dump of the one-key document ``{key: value}`` writes."""
    document = CommentedMap()
    document[key] = value
    document.fa.set_block_style()
    text = dump(document)
    return text.split("\n")[:-1] if text.endswith("\n") else text.split("\n")
