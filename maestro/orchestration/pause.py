"""The dispatch hold: a marker file in the state root that ``maestro pause`` writes.

A file, not a flag in the daemon's memory, so every process that plans a tick (``maestro
daemon``, ``run --once``, ``plan``, a second daemon after a restart) and every reader
(``maestro status``, the dashboard) sees the same hold without talking to each other, and a
restart keeps it. The tick reads it once as a fact (:attr:`TickFacts.paused
<maestro.orchestration.planning.TickFacts>`); running lanes are not touched by it.

``<state_root>/paused.json``: ``{"at": ISO-8601 UTC, "by": "user@host", "reason": str}``.

A damaged marker (truncated, not JSON, not an object) still holds: the file exists because
someone paused, and starting lanes against that intent is the worse mistake. It reads as
``{"damaged": "<what is wrong>"}``, and every message says so and names ``maestro resume``.
"""

from __future__ import annotations

import getpass
import socket
from pathlib import Path
from typing import Any

from maestro.errors import MaestroError
from maestro.fsutil import json_problem, read_json, warn_once, write_json
from maestro.ids import iso_now

__all__ = ["PAUSE_FILE", "clear_pause", "hold_reason", "read_pause", "write_pause"]

PAUSE_FILE = "paused.json"


#: What a damaged marker's warning says is done with it.
DAMAGED_ACTION = "treated as paused: dispatch stays held until `maestro resume`"


def read_pause(state_root: Path) -> dict[str, Any] | None:
    """The hold record, or None when dispatch is not held. A damaged marker still holds
    (only ``resume`` releases it): it reads as ``{"damaged": why}``, warned once."""
    path = state_root / PAUSE_FILE
    if not path.exists():
        return None
    problem = json_problem(path)
    value = read_json(path) if problem is None else None
    if problem is None and not isinstance(value, dict):
        problem = f"expected a JSON object, found {type(value).__name__}"
    if problem is not None:
        warn_once(path, problem, DAMAGED_ACTION)
        return {"damaged": problem}
    assert isinstance(value, dict)
    return value


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
    try:
        path.unlink(missing_ok=True)
    except IsADirectoryError:
        raise MaestroError(f"{path}: a folder, not maestro's pause marker; dispatch stays "
                           "held until a person removes it") from None
    return True


def hold_reason(state_root: Path) -> str | None:
    """The hold in words for the tick's plan (``None``: not paused)."""
    record = read_pause(state_root)
    if record is None:
        return None
    words = "dispatch paused"
    if record.get("damaged"):
        words += f" (its marker {PAUSE_FILE} is damaged: {record['damaged']})"
    elif record.get("by") or record.get("at"):
        words += f" by {record.get('by') or 'an operator'} at {record.get('at') or '?'}"
    if record.get("reason"):
        words += f" ({record['reason']})"
    return words + "; `maestro resume` releases it"
