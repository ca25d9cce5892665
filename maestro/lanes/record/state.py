"""The lane folder: every local fact about one lane, written atomically.

Local state is a cache of progress; the tracker and the forge hold the truth. A file here
marks a phase as done (its doit target), so writes must be atomic and a killed process must
leave either the old file or the new one.

Leases use an OS file lock on ``lane.lock``: the kernel releases it when its holder dies, so
a lease whose process is gone is reclaimed by the next taker without any clean-up step.
"""

from __future__ import annotations

import os
import shutil
import socket
import time
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from maestro.errors import LaneLeasedError, LaneLostError
from maestro.fsutil import append_jsonl, read_json, warn_once, write_json
from maestro.ids import check_identifier, iso_now
from maestro.lanes.record.lease_probe import flock_held

#: Files that belong to one attempt; a retry moves them to ``attempts/<n>/``.
ATTEMPT_FILES = ("result.json", "validation.json", "tools.jsonl", "turns", "agent.json")

#: The heads maestro pushed for the lane, written before each push
#: (:mod:`maestro.lanes.push.push_guard`).
PUSHED = "pushed.json"

#: Phase targets in lane order (their presence means "done").
PHASE_TARGETS = {
    "claim": "lease.json",
    "prepare": "workspace.json",
    "agent": "result.json",
    "validate": "validation.json",
    "handoff": "pr.json",
    "review": "review.json",
    "land": "merge.json",
    "closeout": "closeout.json",
    "cleanup": "cleanup.json",
}



class LaneState:
    def __init__(self, lanes_root: Path, identifier: str) -> None:
        self.identifier = check_identifier(identifier)
        self.dir = lanes_root / identifier
        self._file_lock: FileLock | None = None
        #: (monotonic time, answer) of the last :meth:`lost` look, for :meth:`lost_lately`.
        self._lost_seen: tuple[float, bool] = (-1e9, False)

    @property
    def _lock(self) -> FileLock:
        """The lane's lock object, made when first used: most readers of a lane (status,
        the tick) never take it, and building one costs more than reading the lane."""
        if self._file_lock is None:
            self._file_lock = FileLock(str(self.dir / "lane.lock"), timeout=0)
        return self._file_lock

    def path(self, name: str) -> Path:
        return self.dir / name

    def exists(self, name: str) -> bool:
        return self.path(name).exists()

    def read(self, name: str) -> Any:
        """The file's object, or None when absent or damaged (reported once, see
        :func:`maestro.fsutil.read_json`); every lane file holds one JSON object."""
        value = read_json(self.path(name))
        if value is not None and not isinstance(value, dict):
            warn_once(self.path(name), f"expected a JSON object, found {type(value).__name__}")
            return None
        return value

    def write(self, name: str, value: Any) -> None:
        self.refuse_if_lost()
        self.dir.mkdir(parents=True, exist_ok=True)
        write_json(self.path(name), value)

    def write_record(self, path: Path, value: Any) -> None:
        """Write one record at ``path`` inside the lane folder (a turn record in a
        subfolder), refused like :meth:`write` once the folder is no longer this
        process's."""
        self.refuse_if_lost()
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json(path, value)

    def remove(self, name: str) -> None:
        target = self.path(name)
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()

    def journal(self, event: str, **fields: Any) -> None:
        self.refuse_if_lost()
        append_jsonl(self.path("journal.jsonl"), {"at": iso_now(), "event": event, **fields})

    # -- leases ----------------------------------------------------------------------------

    def acquire(self, role: str = "lane") -> None:
        """Hold the lane for this process (re-entrant); raise if another live process has it.

        ``role`` is recorded in ``holder.json``: ``"lane"`` for a process running phases,
        ``"operator"`` for a person's command (``maestro cancel``), which the poll loop's
        reconcile must not stop as if it were the lane."""
        self.dir.mkdir(parents=True, exist_ok=True)
        try:
            self._lock.acquire()
        except Timeout:
            holder = self.read("holder.json") or {}
            who = (
                f"pid {holder.get('pid', '?')} on {holder.get('host', '?')} "
                f"since {holder.get('since', '?')}"
            )
            raise LaneLeasedError(
                f"lane {self.identifier} is leased by another process ({who}); "
                "wait for it to finish or stop it"
            ) from None
        if self._lock.lock_counter == 1:
            self.write(
                "holder.json",
                {"pid": os.getpid(), "host": socket.gethostname(), "since": iso_now(),
                 "role": role},
            )

    def lost(self) -> bool:
        """Whether this process holds the lane but ``lane.lock`` at its path is no longer
        the file it locked: the folder was deleted or replaced (a new lock there is another
        holder's). Two ``stat`` calls; False when not held."""
        if not self.held:
            return False
        assert self._file_lock is not None
        fd = self._file_lock._context.lock_file_fd
        if fd is None:
            return False
        try:
            now = os.stat(self.dir / "lane.lock")
        except OSError:
            return True
        mine = os.fstat(fd)
        answer = (now.st_dev, now.st_ino) != (mine.st_dev, mine.st_ino)
        self._lost_seen = (time.monotonic(), answer)
        return answer

    def lost_lately(self, max_age_s: float = 0.25) -> bool:
        """:meth:`lost`, answered from the last look when it is younger than ``max_age_s``
        (a loss is for good): for the session's journal lines, which come by the thousand,
        where a look each would cost more than the line."""
        at, answer = self._lost_seen
        if answer or time.monotonic() - at < max_age_s:
            return answer
        return self.lost()

    def refuse_if_lost(self) -> None:
        """Raise :class:`LaneLostError` when :meth:`lost`: a process whose folder was
        replaced must not write into its successor (breaker 14: a lane whose folder was
        deleted wrote its late outcome over the cancel that followed)."""
        if self.lost():
            raise LaneLostError(
                f"lane {self.identifier}: its folder {self.dir} was deleted or replaced while "
                "this process held it; this process writes nothing more to it")

    def release(self) -> None:
        if self.held:
            self._lock.release(force=True)

    @property
    def held(self) -> bool:
        return self._file_lock is not None and self._file_lock.is_locked

    def is_leased_elsewhere(self) -> bool:
        """True when a live process other than this one holds the lane lock."""
        if self._file_lock is not None and self._file_lock.is_locked:
            return False
        if not self.dir.exists():
            return False
        held = flock_held(self.dir / "lane.lock")
        if held is not None:
            return held
        probe = FileLock(str(self.dir / "lane.lock"), timeout=0)
        try:
            probe.acquire()
        except Timeout:
            return True
        probe.release()
        return False

    # -- attempts --------------------------------------------------------------------------

    def archive_attempt(self, attempt: int) -> None:
        """Move this attempt's files aside so the next attempt starts its phases afresh."""
        dest = self.dir / "attempts" / f"{attempt:04d}"
        dest.mkdir(parents=True, exist_ok=True)
        for name in ATTEMPT_FILES:
            source = self.path(name)
            if source.exists():
                target = dest / name
                if target.exists():
                    if target.is_dir():
                        shutil.rmtree(target)
                    else:
                        target.unlink()
                os.replace(source, target)
