"""maestro's own tracker comments, each carrying a machine-readable block.

The block is an HTML comment holding JSON (``<!-- maestro:state {...} -->``): invisible in
rendered Markdown, exact for a parser. It makes every side effect findable, so a phase run
twice finds its earlier comment instead of posting again, and a runner with no local state
can rebuild a lane from the tracker alone.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from maestro.fsutil import json_objects, parse_json
from maestro.model import Comment
from maestro.visible_text import visible

_BLOCK = re.compile(r"<!-- maestro:state (\{.*?\}) -->", re.DOTALL)
#: An HTML comment opener that opens nothing (a zero-width space after ``<!``).
BROKEN_OPENER = "<!\u200b--"
_CHECKPOINT = re.compile(r"```maestro-checkpoint[ \t]*\r?\n(.*?)```", re.DOTALL)
#: A fence line (CommonMark 4.5): up to three spaces, then three or more backticks or tildes.
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})(.*)")


def block_of(comment: Comment | str) -> dict[str, Any] | None:
    """The comment's block: the last one, where :func:`render` puts maestro's (text quoted
    above it is never a block: :func:`quoted`)."""
    text = comment.body if isinstance(comment, Comment) else comment
    found = _BLOCK.findall(text)
    if not found:
        return None
    try:
        value = parse_json(found[-1])
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def quoted(text: str) -> str:
    """Text others wrote (an agent's summary, a check's output, a reason holding either),
    made fit for one of maestro's comments: control characters shown, not kept
    (:func:`~maestro.visible_text.visible`), and every HTML comment opener broken with a
    zero-width space (``<!\u200b--``), so no ``<!-- maestro:state … -->`` block a PR's code
    printed becomes one of maestro's records (breaker 14: a failing check's output forged
    a closeout block in the needs-human comment). The opener then shows as text, and reads
    the same inside a code block, where an HTML entity would show as ``&lt;``. A code
    block the text leaves open is closed (:func:`closed_fences`). Pure."""
    return closed_fences(visible(text)).replace("<!--", BROKEN_OPENER)


def closed_fences(text: str) -> str:
    """``text`` with a closing fence added when it ends inside a fenced code block
    (CommonMark 4.5: a fence closes with the same character, at least as many, and nothing
    after it but spaces), so the rest of maestro's comment is not shown as code (breaker
    15, F5: a check's output opened a block, and maestro's block showed as text). Pure."""
    opened: str | None = None
    for line in text.split("\n"):
        match = _FENCE.fullmatch(line.rstrip("\r"))
        if match is None:
            continue
        fence, rest = match.groups()
        if opened is None:
            if not (fence[0] == "`" and "`" in rest):  # a backtick fence's info has none
                opened = fence
        elif fence[0] == opened[0] and len(fence) >= len(opened) and not rest.strip():
            opened = None
    return text if opened is None else f"{text}\n{opened}"


def blocks(comments: Iterable[Comment]) -> list[dict[str, Any]]:
    """The blocks of maestro's own comments (:attr:`~maestro.model.Comment.own`), oldest
    first: a block in another tracker user's comment is a quotation or a forgery, and a
    lane rebuilt from it would act on a record maestro never wrote (breaker 15, F3: a
    forged ``completion`` block moved a lane that never handed off to review)."""
    return [b for c in comments if c.own and (b := block_of(c)) is not None]


def render(title: str, fields: dict[str, Any], block: dict[str, Any], text: str = "") -> str:
    """A human-readable comment followed by its machine-readable block; the fields and
    ``text`` may hold what others wrote and are :func:`quoted`."""
    lines = [f"**maestro** · {title}", ""]
    # A value's later lines are indented under its list item, so they stay in it.
    lines += [f"- `{key}`: " + quoted(str(value)).replace("\n", "\n  ")
              for key, value in fields.items() if value not in (None, "")]
    if text:
        lines += ["", quoted(text.strip())]
    payload = json.dumps(block, sort_keys=True, separators=(",", ":")).replace("--", "- -")
    lines += ["", f"<!-- maestro:state {payload} -->", ""]
    return "\n".join(lines)


def find(comments: Iterable[Comment], **match: Any) -> dict[str, Any] | None:
    """The newest block whose fields equal ``match`` (for example kind and run_id)."""
    return find_in(blocks(comments), **match)


def find_in(found: Iterable[dict[str, Any]], **match: Any) -> dict[str, Any] | None:
    """Like :func:`find`, over blocks already parsed."""
    result = None
    for block in found:
        if all(block.get(key) == value for key, value in match.items()):
            result = block
    return result


def checkpoints(comments: Iterable[Comment]) -> list[dict[str, Any]]:
    """Agent progress checkpoints (the ``execution-state`` skill), oldest first."""
    return json_objects(raw for comment in comments
                        for raw in _CHECKPOINT.findall(comment.body))
