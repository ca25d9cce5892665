"""The retry queue (SPEC-NOTES §3), persisted in the state root so a restart keeps it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path

from filelock import FileLock

from maestro.fsutil import read_json, write_json
from maestro.ids import utc_now

CONTINUATION_DELAY_S = 1.0
BASE_BACKOFF_S = 10.0


def backoff_seconds(attempt: int, kind: str, max_backoff_ms: int) -> float:
    """1 s after a clean continuation exit; else ``min(10 s × 2^(attempt−1), cap)``."""
    if kind == "continuation":
        return CONTINUATION_DELAY_S
    return min(BASE_BACKOFF_S * 2.0 ** max(attempt - 1, 0), max_backoff_ms / 1000.0)


@dataclass(frozen=True)
class Retry:
    identifier: str
    attempt: int
    kind: str
    due_at: str
    error_class: str = ""
    #: The backoff the retry was scheduled with; 0 in records written before it existed.
    delay_s: float = 0.0

    def due(self, now: datetime) -> bool:
        """Due at ``due_at``, or at once when ``due_at`` lies further ahead than the delay it
        was scheduled with: the clock stepped back, and waiting for it would hold the retry
        back by the size of the step."""
        due_at = datetime.fromisoformat(self.due_at)
        if due_at <= now:
            return True
        return self.delay_s > 0 and (due_at - now).total_seconds() > self.delay_s + 1.0


class RetryQueue:
    def __init__(self, state_root: Path) -> None:
        self.path = state_root / "retries.json"
        self._lock = FileLock(str(state_root / "retries.lock"), timeout=30)
        #: What the last :meth:`load` could not read (one sentence each, naming the file).
        self.problems: list[str] = []

    def load(self) -> dict[str, Retry]:
        """The queue; an unreadable file or entry reads as absent (named in ``problems``),
        so a damaged ``retries.json`` delays a retry instead of stopping every tick."""
        self.problems = []
        try:
            data = read_json(self.path) or {}
        except (OSError, ValueError) as exc:
            self.problems.append(f"{self.path}: unreadable, ignored ({exc})")
            return {}
        if not isinstance(data, dict):
            self.problems.append(f"{self.path}: expected a JSON object, ignored")
            return {}
        entries: dict[str, Retry] = {}
        for key, value in data.items():
            try:
                entry = Retry(**value)
                if datetime.fromisoformat(entry.due_at).tzinfo is None:
                    raise ValueError(f"due_at {entry.due_at!r} has no time zone")
            except (TypeError, ValueError) as exc:
                self.problems.append(f"{self.path}: entry {key!r} unreadable, ignored ({exc})")
                continue
            entries[key] = entry
        return entries

    def _save(self, entries: dict[str, Retry]) -> None:
        write_json(self.path, {key: asdict(value) for key, value in entries.items()})

    def schedule(self, identifier: str, attempt: int, kind: str, error_class: str,
                 max_backoff_ms: int, now: datetime | None = None) -> Retry:
        delay = backoff_seconds(attempt, kind, max_backoff_ms)
        due = (now or utc_now()) + timedelta(seconds=delay)
        entry = Retry(identifier, attempt, kind, due.isoformat(timespec="milliseconds"),
                      error_class, delay)
        with self._lock:
            entries = self.load()
            entries[identifier] = entry
            self._save(entries)
        return entry

    def expedite(self, identifier: str, attempt: int, kind: str, error_class: str,
                 now: datetime | None = None) -> Retry:
        """Make the retry of ``identifier`` due at ``now`` (an operator's ``maestro
        retry``); an entry that exists keeps its attempt, kind and error class."""
        with self._lock:
            entries = self.load()
            found = entries.get(identifier)
            entry = Retry(identifier, found.attempt if found else attempt,
                          found.kind if found else kind,
                          (now or utc_now()).isoformat(timespec="milliseconds"),
                          found.error_class if found else error_class, 0.0)
            entries[identifier] = entry
            self._save(entries)
        return entry

    def release(self, identifier: str) -> None:
        with self._lock:
            entries = self.load()
            if entries.pop(identifier, None) is not None:
                self._save(entries)
