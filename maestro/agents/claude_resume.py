"""Which Claude Code session a lane session runs on: the lane's earlier one when it can be
resumed (as :mod:`maestro.agents.threads` does for Codex threads).

A repair round is the same piece of work as the agent phase before it; on the resumed
session Claude Code re-sends the whole earlier conversation, so the model still has what it
read, tried and was told. Claude Code keeps sessions under its config folder by working
folder, so a session recorded elsewhere (another machine, a cleared ``CLAUDE_CONFIG_DIR``)
is unknown to it: the first ``--resume`` turn then ends at once with a ``result`` whose
``errors`` say "No conversation found", nothing having run, and the turn is run again as a
new session under the same id (the lane's records keep one id). An id that is not a UUID
(a Codex thread recorded before the transport changed, say) is never offered to
``--resume``.
"""

from __future__ import annotations

import uuid
from typing import Any

__all__ = ["resume_unknown", "session_to_resume"]

#: Claude Code's message for a ``--resume`` id it has no transcript of (2.1.x).
UNKNOWN_SESSION = "no conversation found"


def session_to_resume(recorded: str) -> str:
    """``recorded`` (the lane's last thread id) when Claude Code could resume it, else ""."""
    try:
        return str(uuid.UUID(recorded)) if recorded else ""
    except ValueError:
        return ""


def resume_unknown(event: dict[str, Any]) -> bool:
    """Whether a ``--resume`` turn's ``result`` event says the session is unknown (and so
    nothing ran)."""
    errors = event.get("errors")
    return (bool(event.get("is_error")) and not event.get("num_turns")
            and isinstance(errors, list)
            and any(UNKNOWN_SESSION in str(error).lower() for error in errors))
