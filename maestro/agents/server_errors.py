"""What the agent server said when a turn went wrong, in the words people read.

Codex reports a failure twice: an ``error`` notification (``{"error": {"message",
"codexErrorInfo", "additionalDetails"}, "willRetry", "threadId", "turnId"}``) as it happens,
and the failed turn's ``turn.error`` (same ``TurnError`` shape) in ``turn/completed``.
``codexErrorInfo`` is a string (``"usageLimitExceeded"``, ``"contextWindowExceeded"``, …) or a
one-key object (``{"httpConnectionFailed": {"httpStatusCode": 502}}``). Both go into the
failure reason and the journal, so a person sees the server's own cause.
"""

from __future__ import annotations

import json
from typing import Any


def error_info(info: Any) -> str:
    """Pure: ``codexErrorInfo`` as one short token, e.g. ``httpConnectionFailed(502)``."""
    if isinstance(info, str):
        return info
    if isinstance(info, dict) and len(info) == 1:
        (name, detail), = info.items()
        if isinstance(detail, dict):
            values = [str(v) for v in detail.values() if v is not None]
            return f"{name}({', '.join(values)})" if values else str(name)
        return str(name)
    return json.dumps(info, sort_keys=True) if info else ""


def describe(error: Any) -> str:
    """Pure: a ``TurnError``-shaped object as ``message [codexErrorInfo: …] (details)``."""
    if not isinstance(error, dict):
        return ""
    text = str(error.get("message") or "").strip()
    info = error_info(error.get("codexErrorInfo"))
    if info:
        text += f" [codexErrorInfo: {info}]"
    details = str(error.get("additionalDetails") or "").strip()
    if details:
        text += f" ({details[:500]})"
    return text.strip()


class ServerErrors:
    """The ``error`` notifications of one session, newest last."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def note(self, params: dict[str, Any]) -> str:
        text = describe(params.get("error"))
        if params.get("willRetry"):
            text += " (the server retries)"
        if text:
            self.seen.append(text)
        return text

    def reason(self, turn_error: Any) -> str:
        """The failed turn's own error, then the last notification if it says more."""
        own = describe(turn_error)
        last = next((t for t in reversed(self.seen) if "(the server retries)" not in t), "")
        if last and last not in own:
            return f"{own}; server error: {last}" if own else last
        return own
