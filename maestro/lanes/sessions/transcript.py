"""The agent's transcript in the lane journal: what it said and what it ran.

The journal records every protocol event by method name only; that tells when a turn ran,
not what happened in it. For the items a person reads to follow a session (``maestro
logs``, the dashboard's lane page) one compact record is added per completed item: the
agent's messages, its reasoning summary, each command with its exit code and the tail of
its output, the files it changed. Tool calls are journaled by the tool bridge already.
Texts are cut so one chatty session cannot fill the bounded journal.
"""

from __future__ import annotations

import shlex
from typing import Any

__all__ = ["MAX_TEXT", "item_record"]

#: Characters kept of a message or of a command's output (its tail).
MAX_TEXT = 2000


def _clip(text: Any, tail: bool = False) -> str:
    value = text if isinstance(text, str) else ""
    if len(value) <= MAX_TEXT:
        return value
    return "…" + value[-MAX_TEXT:] if tail else value[:MAX_TEXT] + "…"


def _command(value: Any) -> str:
    if isinstance(value, list):
        return shlex.join(str(part) for part in value)
    return str(value or "")


def item_record(params: dict[str, Any]) -> dict[str, Any] | None:
    """The journal fields for an ``item/completed`` notification's item (``event`` is
    ``"item"``), or None for items not worth a line (tool calls, user messages)."""
    item = params.get("item")
    if not isinstance(item, dict):
        return None
    kind = item.get("type")
    if kind == "agentMessage":
        return {"event": "item", "item": "message", "text": _clip(item.get("text"))}
    if kind == "reasoning":
        summary = item.get("summary")
        text = "\n".join(map(str, summary)) if isinstance(summary, list) else summary
        return {"event": "item", "item": "reasoning", "text": _clip(text)} if text else None
    if kind == "commandExecution":
        return {"event": "item", "item": "command", "command": _command(item.get("command")),
                "exit_code": item.get("exitCode"), "duration_ms": item.get("durationMs"),
                "output_tail": _clip(item.get("aggregatedOutput"), tail=True)}
    if kind == "fileChange":
        changes = item.get("changes")
        paths = [str(c.get("path")) for c in changes if isinstance(c, dict)] if isinstance(
            changes, list) else []
        return {"event": "item", "item": "file_change", "paths": paths}
    return None
