"""The dispatch hold: a marker file in the state root that ``maestro pause`` writes.

A file, not a flag in the daemon's memory, so every process that plans a tick (``maestro
daemon``, ``run --once``, ``plan``, a second daemon after a restart) and every reader
(``maestro status``, the dashboard) sees the same hold without talking to each other, and a
restart keeps it. The tick reads it once as a fact (:attr:`TickFacts.paused
<maestro.orchestration.planning.TickFacts>`); running lanes are not touched by it.

``<state_root>/paused.json``: ``{"at": ISO-8601 UTC, "by": "user@host", "reason": str}``.
"""

from __future__ import annotations

import getpass
import socket
from pathlib import Path
from typing import Any

from maestro.fsutil import read_json, write_json
from maestro.ids import iso_now

__all__ = ["PAUSE_FILE", "clear_pause", "hold_reason", "read_pause", "write_pause"]

PAUSE_FILE = "paused.json"


def read_pause(state_root: Path) -> dict[str, Any] | None:
    """The hold record, or None when dispatch is not held. A damaged marker still holds
    (it was written by ``pause``; only ``resume`` releases it): it reads as ``{}``."""
    path = state_root / PAUSE_FILE
    if not path.exists():
        return None
    try:
        value = read_json(path)
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def write_pause(state_root: Path, reason: str = "") -> dict[str, Any]:
    """Hold new dispatch; returns the record written."""
    try:
        who = f"{getpass.getuser()}@{socket.gethostname()}"
    except (KeyError, OSError):  # no passwd entry (a container)
        who = socket.gethostname()
    record = {"at": iso_now(), "by": who, "reason": reason}
    state_root.mkdir(parents=True, exist_ok=True)
    write_json(state_root / PAUSE_FILE, record)
    return record


def clear_pause(state_root: Path) -> bool:
    """Release the hold; False when there was none."""
    path = state_root / PAUSE_FILE
    if not path.exists():
        return False
    path.unlink(missing_ok=True)
    return True


def hold_reason(state_root: Path) -> str | None:
    """The hold in words for the tick's plan (``None``: not paused)."""
    record = read_pause(state_root)
    if record is None:
        return None
    words = "dispatch paused"
    if record.get("by") or record.get("at"):
        words += f" by {record.get('by') or 'an operator'} at {record.get('at') or '?'}"
    if record.get("reason"):
        words += f" ({record['reason']})"
    return words + "; `maestro resume` releases it"
