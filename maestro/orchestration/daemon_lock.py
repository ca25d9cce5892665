"""One poll loop per repository: an OS lock on ``<state_root>/daemon.lock``.

Two daemons (or a daemon and a ``maestro run --once``) over the same state root would both
plan the same tick and dispatch the same issues. The lock is a kernel file lock, so it is
released when its holder dies, however it dies; ``daemon.json`` beside it names the holder
(pid, host, command, since) so the refusal can say who holds it. Read-only commands
(``run --once --dry-run``, ``plan``, ``status``) take no lock.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock, Timeout

from maestro.errors import DaemonRunningError
from maestro.fsutil import read_json, write_json
from maestro.ids import iso_now

__all__ = ["HOLDER_FILE", "LOCK_FILE", "holding_loop_lock"]

LOCK_FILE = "daemon.lock"
HOLDER_FILE = "daemon.json"


def _holder(state_root: Path) -> str:
    try:
        data = read_json(state_root / HOLDER_FILE)
    except ValueError:
        data = None
    if not isinstance(data, dict) or not data.get("pid"):
        return "another process"
    return (f"pid {data.get('pid')} on {data.get('host', '?')} "
            f"({data.get('command', 'maestro')}, since {data.get('since', '?')})")


@contextlib.contextmanager
def holding_loop_lock(state_root: Path, command: str) -> Iterator[None]:
    """Hold the poll-loop lock of ``state_root`` for the ``with`` block.

    Raises :class:`DaemonRunningError` (exit 3) naming the holder's pid when another live
    process holds it."""
    state_root.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(state_root / LOCK_FILE), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise DaemonRunningError(
            f"{state_root / LOCK_FILE}: a maestro poll loop already runs for this repository "
            f"({_holder(state_root)}); stop it first, or use `maestro run --once --dry-run` "
            "to see its plan") from None
    try:
        write_json(state_root / HOLDER_FILE, {"pid": os.getpid(), "host": socket.gethostname(),
                                             "command": command, "since": iso_now()})
        yield
    finally:
        (state_root / HOLDER_FILE).unlink(missing_ok=True)
        lock.release()
