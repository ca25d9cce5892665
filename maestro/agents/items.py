"""What the journal keeps of an app-server ``item/completed``: the agent's story, bounded.

The lane journal records every protocol event by method name; for a completed item it also
keeps what a person reads afterwards (the dashboard's lane page, ``maestro logs``): the
agent's messages, commands with their exit codes and the tail of their output, file
changes, tool calls. Strings are cut so a chatty agent cannot grow the journal without
bound (it rotates at :data:`maestro.fsutil.JOURNAL_MAX_BYTES` anyway). The text is the
agent's own: whoever displays it must escape it.
"""

from __future__ import annotations

from typing import Any

MAX_TEXT = 4000
MAX_OUTPUT = 2000


def _text(value: Any, limit: int = MAX_TEXT) -> str:
    text = value if isinstance(value, str) else "" if value is None else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _tail(value: Any, limit: int = MAX_OUTPUT) -> str:
    text = value if isinstance(value, str) else "" if value is None else str(value)
    return text if len(text) <= limit else "…" + text[-(limit - 1):]


def _joined(value: Any) -> str:
    if isinstance(value, list):
        return "\n".join(str(part.get("text", part)) if isinstance(part, dict) else str(part)
                         for part in value)
    return "" if value is None else str(value)


def item_summary(item: Any) -> dict[str, Any] | None:
    """The journal's record of one completed item, or ``None`` for nothing worth keeping.

    Shapes (``type`` is the app-server's item type):
    ``agentMessage``: ``text``; ``reasoning``: ``text`` (the summary);
    ``commandExecution``: ``command``, ``exit_code``, ``status``, ``duration_ms``, ``output``
    (tail); ``fileChange``: ``paths``, ``status``; ``dynamicToolCall``/``mcpToolCall``:
    ``tool``, ``ok``; anything else: ``type`` alone.
    """
    if not isinstance(item, dict):
        return None
    kind = str(item.get("type") or "")
    if kind in ("agentMessage", "userMessage"):
        return {"type": kind, "text": _text(_joined(item.get("text") or item.get("content")))}
    if kind == "reasoning":
        return {"type": kind, "text": _text(_joined(item.get("summary")), 2000)}
    if kind == "commandExecution":
        command = item.get("command")
        if isinstance(command, list):
            command = " ".join(map(str, command))
        exit_code = item.get("exitCode")
        return {"type": kind, "command": _text(command, 1000),
                "exit_code": exit_code if isinstance(exit_code, int) else None,
                "status": item.get("status"), "duration_ms": item.get("durationMs"),
                "output": _tail(item.get("aggregatedOutput"))}
    if kind == "fileChange":
        changes = item.get("changes")
        changes = changes if isinstance(changes, list) else []
        return {"type": kind, "status": item.get("status"),
                "paths": [_text(c.get("path"), 300) for c in changes[:50]
                          if isinstance(c, dict)]}
    if kind in ("dynamicToolCall", "mcpToolCall"):
        ok = item.get("success")
        return {"type": kind, "tool": _text(item.get("tool"), 200),
                "ok": ok if isinstance(ok, bool) else item.get("error") is None}
    return {"type": _text(kind, 100)} if kind else None


def journal_fields(method: str, params: dict[str, Any]) -> dict[str, Any]:
    """Extra journal fields for one notification: ``{"item": ...}`` for ``item/completed``."""
    if method != "item/completed":
        return {}
    summary = item_summary(params.get("item"))
    return {"item": summary} if summary else {}
