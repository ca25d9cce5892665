"""Structured logs: JSON lines in the state root for machines, short lines for people.

Every record carries the same context fields (SPEC-NOTES §8) so one ``jq`` filter follows an
issue across the poll loop and its lane processes: ``project_id``, ``issue_id``, ``issue``,
``run_id``, ``attempt``, ``branch``, ``workspace_path`` and ``phase``. The context is read
from the lane folder, the single source every process shares, so a lane process and the
daemon describe a lane the same way without passing anything between them.

The file is ``<state_root>/logs/maestro.jsonl``, rotated by size. Lane processes and the
daemon append to it at once; each record is one short ``O_APPEND`` write, so lines do not
interleave (rotation itself is per process and may leave one file a little over size).

Agent session fields (``thread_id``, ``turn_id`` and Symphony's ``session_id``,
``<thread_id>-<turn_id>``) come from the lane's ``activity.json`` while it describes the
current run; ``issue_identifier`` repeats ``issue`` under Symphony's name.

A log sink that fails (a state root that cannot be written, a full disk) never stops the
run: one warning goes to the console and maestro goes on without that sink.

Secrets never reach a handler: the values of the service's secret environment variables
are replaced by ``[redacted]`` in messages and fields before formatting.
"""

from __future__ import annotations

import contextlib
import json
import logging
import logging.handlers
import os
import sys
import time
from pathlib import Path
from typing import Any

from maestro.config.service import ServiceConfig
from maestro.fsutil import StatIdentity, read_json, stat_or_none

LOGGER_NAME = "maestro"
LOG_FILE = "maestro.jsonl"
MAX_BYTES = 5_000_000
BACKUPS = 5
CONTEXT_FIELDS = ("project_id", "issue_id", "issue", "issue_identifier", "run_id", "attempt",
                  "branch", "workspace_path", "phase", "thread_id", "turn_id", "session_id")
REDACTED = "[redacted]"

_configured: dict[str, logging.Handler] = {}


def log_path(config: ServiceConfig) -> Path:
    return config.state_root / "logs" / LOG_FILE


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, message, the context fields, then extras."""

    def converter(self, timestamp: float | None) -> time.struct_time:
        """UTC, like every timestamp in the lane folders."""
        return time.gmtime(timestamp)

    def format(self, record: logging.LogRecord) -> str:
        context: dict[str, Any] = getattr(record, "maestro", {}) or {}
        line: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "event": getattr(record, "event", None) or "log",
            "message": record.getMessage(),
        }
        line.update({key: context.get(key) for key in CONTEXT_FIELDS})
        line.update(getattr(record, "fields", {}) or {})
        line["pid"] = record.process
        return json.dumps(line, sort_keys=False, default=str)


class HumanFormatter(logging.Formatter):
    """``maestro: DEMO-1 [agent] phase started`` — short enough to scan in a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        context: dict[str, Any] = getattr(record, "maestro", {}) or {}
        where = context.get("issue") or ""
        if context.get("phase"):
            where += f" [{context['phase']}]"
        level = "" if record.levelno <= logging.INFO else f"{record.levelname.lower()}: "
        prefix = f"maestro: {level}{where + ' ' if where else ''}"
        return prefix + record.getMessage()


class _FileHandler(logging.handlers.RotatingFileHandler):
    """The JSON lines file; a write that fails warns once on stderr instead of printing a
    traceback per record, and the run goes on."""

    warned = False
    #: the record being emitted and its line: the size check before a write formats the
    #: record too, and formatting was a third of a record's cost (5 000 on a first tick)
    _line: tuple[logging.LogRecord, str] | None = None

    def format(self, record: logging.LogRecord) -> str:
        if self._line is not None and self._line[0] is record:
            return self._line[1]
        line = super().format(record)
        self._line = (record, line)
        return line

    def emit(self, record: logging.LogRecord) -> None:
        try:
            super().emit(record)
        finally:
            self._line = None

    def handleError(self, record: logging.LogRecord) -> None:
        if not _FileHandler.warned:
            _FileHandler.warned = True
            error = sys.exc_info()[1]
            _sink_warning(f"log file {self.baseFilename} cannot be written ({error}); "
                          "going on without it")

    def close(self) -> None:
        with contextlib.suppress(OSError):  # closing flushes; a failed sink stays failed
            super().close()


def _sink_warning(message: str) -> None:
    with contextlib.suppress(OSError, ValueError):
        print(f"maestro: warning: {message}", file=sys.stderr, flush=True)


class _ConsoleHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is now, so a live view that redirects it keeps
    log lines above the display instead of tearing it."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


class RedactSecrets(logging.Filter):
    """Replace the values of secret environment variables wherever they appear."""

    def __init__(self, env_vars: set[str]) -> None:
        super().__init__()
        self.secrets = sorted({v for name in env_vars if len(v := os.environ.get(name, "")) >= 4},
                              key=len, reverse=True)

    def _scrub(self, value: Any) -> Any:
        if isinstance(value, str):
            for secret in self.secrets:
                value = value.replace(secret, REDACTED)
            return value
        if isinstance(value, dict):
            return {k: self._scrub(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._scrub(v) for v in value]
        return value

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            record.msg = self._scrub(record.getMessage())
            record.args = None
            if hasattr(record, "fields"):
                record.fields = self._scrub(record.fields)
        return True


def configure(config: ServiceConfig, console_level: int | None = logging.INFO) -> logging.Logger:
    """Attach the JSON file handler (once per state root) and, optionally, console lines.

    ``console_level=None`` keeps the console quiet (a live view is showing instead).
    """
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    redact = RedactSecrets(config.secret_env_vars())
    key = str(log_path(config))
    if key not in _configured:
        for old in [h for h in logger.handlers if isinstance(
                h, logging.handlers.RotatingFileHandler)]:
            logger.removeHandler(old)
            old.close()
        path = log_path(config)
        _configured.clear()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            rotating: logging.Handler = _FileHandler(path, maxBytes=MAX_BYTES,
                                                     backupCount=BACKUPS, encoding="utf-8")
        except OSError as exc:
            _sink_warning(f"log file {path} cannot be opened ({exc.strerror or exc}); "
                          "logging to the console only")
            rotating = logging.NullHandler()  # remembered, so the warning is said once
        else:
            rotating.setFormatter(JsonFormatter())
            rotating.setLevel(logging.DEBUG)
            logger.addHandler(rotating)
        _configured[key] = rotating
    for existing in logger.handlers:
        existing.filters = [redact]
    console = [h for h in logger.handlers if isinstance(h, _ConsoleHandler)]
    if console_level is None:
        for quiet in console:
            logger.removeHandler(quiet)
    elif console:
        console[0].setLevel(console_level)
    else:
        lines = _ConsoleHandler()
        lines.setFormatter(HumanFormatter())
        lines.setLevel(console_level)
        lines.addFilter(redact)
        logger.addHandler(lines)
    return logger


def lane_context(config: ServiceConfig, issue: str | None,
                 phase: str | None = None) -> dict[str, Any]:
    """The context fields of one lane, from its folder (empty fields are ``None``)."""
    context: dict[str, Any] = dict.fromkeys(CONTEXT_FIELDS)
    context["project_id"] = config.id
    context["phase"] = phase
    if not issue:
        return context
    folder = config.lanes_root / issue
    # an issue without a lane (most skip records of a tick): one stat, not three opens
    lane = os.path.isdir(folder)
    claim = _read(folder / "lease.json") if lane else {}
    workspace = _read(folder / "workspace.json") if lane else {}
    activity = _read(folder / "activity.json") if lane else {}
    if activity.get("run_id") and activity.get("run_id") == claim.get("run_id"):
        context.update(session_fields(str(activity.get("thread_id") or ""),
                                      str(activity.get("turn_id") or "")))
    context.update({
        "issue": issue,
        "issue_identifier": issue,
        "issue_id": claim.get("issue_id") or issue,
        "run_id": claim.get("run_id"),
        "attempt": claim.get("attempt"),
        "branch": workspace.get("branch"),
        "workspace_path": workspace.get("path"),
    })
    return context


def session_fields(thread_id: str, turn_id: str) -> dict[str, str | None]:
    """``thread_id``, ``turn_id`` and ``session_id`` (``<thread_id>-<turn_id>``, Symphony
    SPEC §4.2) of an agent session; unknown parts are ``None``."""
    return {"thread_id": thread_id or None, "turn_id": turn_id or None,
            "session_id": f"{thread_id}-{turn_id}" if thread_id and turn_id else None}


#: Path -> (stat identity, content) of the lane files read for log context.
_CONTEXT_READS: dict[Path, tuple[StatIdentity, dict[str, Any]]] = {}


def _read(path: Path) -> dict[str, Any]:
    """A lane file's JSON object for the context of a log line ({} when absent or not
    one), read again only when its stat identity changed: a lane logs two dozen events
    and each read three files (0.4 ms an event). maestro replaces these files by rename,
    so every write gives a new inode and change time; the worst a stale read could do is
    name an older attempt in a log line."""
    seen = stat_or_none(path)
    if seen is None:
        _CONTEXT_READS.pop(path, None)
        return {}
    kept = _CONTEXT_READS.get(path)
    if kept is not None and kept[0] == seen:
        return kept[1]
    try:
        data = read_json(path)
    except (OSError, ValueError):
        return {}
    value = data if isinstance(data, dict) else {}
    if len(_CONTEXT_READS) > 256:  # a daemon logs for many lanes: keep the memo small
        _CONTEXT_READS.clear()
    _CONTEXT_READS[path] = (seen, value)
    return value


def event(config: ServiceConfig, event_name: str, message: str, *, issue: str | None = None,
          phase: str | None = None, level: int = logging.INFO, **fields: Any) -> None:
    """Log one structured event about ``issue`` (or the service when ``None``)."""
    logger = logging.getLogger(LOGGER_NAME)
    if os.path.join(config.state_root, "logs", LOG_FILE) not in _configured:  # log_path's
        configure(config, console_level=None)
    logger.log(level, message, extra={"maestro": lane_context(config, issue, phase),
                                      "event": event_name, "fields": fields})


def session_event(config: ServiceConfig, event_name: str, message: str, issue: str,
                  activity: dict[str, Any], **fields: Any) -> None:
    """An agent session lifecycle event, carrying the session's ids from ``activity`` (the
    lane's live ``activity.json`` record: ``thread_id``, ``turn_id``, ``phase``)."""
    session: dict[str, Any] = session_fields(str(activity.get("thread_id") or ""),
                                             str(activity.get("turn_id") or ""))
    event(config, event_name, message, issue=issue, phase=activity.get("phase"),
          **{**session, **fields})


def log_plan(config: ServiceConfig, plan: dict[str, Any]) -> None:
    """The orchestrator's decisions of one tick, one record each."""
    for item in plan.get("reconcile", []):
        event(config, "reconcile", f"{item['action']}: issue is {item['state']}",
              issue=item["issue"], action=item["action"], tracker_state=item["state"])
    for item in plan.get("dispatch", []):
        event(config, "dispatch", f"dispatch: {item['reason']}", issue=item["issue"],
              reason=item["reason"])
    for item in plan.get("retries_waiting", []):
        event(config, "retry_waiting", f"retry ({item['kind']}) due at {item['due_at']}",
              issue=item["issue"], level=logging.DEBUG, kind=item["kind"],
              due_at=item["due_at"])
    for item in plan.get("skipped", []):
        event(config, "skip", f"skipped: {item['reason']}", issue=item["issue"],
              level=logging.DEBUG, reason=item["reason"])
    for key, kind in (("retries_waiting_more", "retry_waiting_more"),
                      ("skipped_more", "skip_more")):
        more: dict[str, int] = plan.get(key) or {}
        if more:
            counted = "; ".join(f"{reason} ({count})" for reason, count in more.items())
            event(config, kind, f"and {sum(more.values())} more: {counted}",
                  level=logging.DEBUG, reasons=more)
    for warning in plan.get("warnings", []):
        event(config, "warning", warning, level=logging.WARNING)
    held = plan.get("held")
    if held:
        event(config, "budget_hold", held, level=logging.WARNING)
    elif held == "":
        event(config, "budget_resumed", "the daily token ceiling no longer holds dispatch")


def phase_event(config: ServiceConfig, issue: str, phase: str, what: str,
                outcome: str | None = None, reason: str = "", failed: bool = False) -> None:
    """A lane phase started, finished or halted (the lane pipeline's one hook)."""
    if what == "halted":
        event(config, "phase_halted", f"{outcome}: {reason}", issue=issue, phase=phase,
              level=logging.WARNING if failed else logging.INFO, outcome=outcome,
              reason=reason)
    else:
        event(config, f"phase_{what}", f"phase {what}", issue=issue, phase=phase)
