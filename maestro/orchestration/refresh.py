"""The refresh request: how the operator surface asks a sleeping daemon to tick now.

A request is one file, ``<state_root>/refresh.request``, that the daemon polls for between
ticks (:meth:`~maestro.orchestration.orchestrator.Orchestrator.daemon`). Requests made
before the daemon looks collapse into one tick by nature: a second request merges into the
file the first one wrote. The file may name the issues that prompted it (a webhook about
``ABC-12``) and who asked; the tick itself stays a whole tick (every issue is re-read),
so a name is a reason shown in the log, never a filter that could skip a lane.

File shape (JSON)::

    {"requested_at": iso8601, "issues": ["ABC-12", ...], "sources": ["github", ...]}

Any other content (an older maestro wrote a bare timestamp) is a request without names.
The daemon takes a request by renaming the file first, so a request written while it
reads lands in a new file and makes another tick, never a lost one.

The file is the request; a writer in the daemon's own process (the operator API and the
webhooks run in its server thread) also wakes the sleeping loop at once
(:func:`wait_for_request`), so a refresh starts its tick within milliseconds instead of
at the loop's next look at the file (every 0.2 s, which stays the way it sees requests
written by other processes).

The file is renamed into place (a reader sees a whole request or none) but not fsynced:
it asks for a tick now, and a daemon that starts after a crash ticks at once anyway, so a
request lost with the page cache costs nothing, while its two fsyncs (5-20 ms) were paid
between the request and the tick.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from maestro.config.service import ServiceConfig
from maestro.fsutil import parse_json, write_atomic
from maestro.ids import iso_now
from maestro.observability import logs

REQUEST_NAME = "refresh.request"
#: At most this many issue names are kept in one request; more are one whole tick anyway.
MAX_NAMES = 100

_writing = threading.Lock()  # request writers in one process (the HTTP server's threads)
_written = threading.Event()  # set after a request file is written in this process


@dataclass(frozen=True)
class RefreshRequest:
    requested_at: str
    issues: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()


def request_path(state_root: Path) -> Path:
    return state_root / REQUEST_NAME


def read_request(path: Path) -> RefreshRequest | None:
    """The request in ``path``; ``None`` when there is none. Never raises on content."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return None
    try:
        data = parse_json(text)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return RefreshRequest(requested_at=text.strip()[:40])
    return RefreshRequest(requested_at=str(data.get("requested_at", ""))[:40],
                          issues=_names(data.get("issues")), sources=_names(data.get("sources")))


def _names(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(dict.fromkeys(str(item) for item in value if isinstance(item, str)))[:MAX_NAMES]


def request_refresh(state_root: Path, issues: tuple[str, ...] = (),
                    source: str = "operator") -> bool:
    """Ask the daemon for a tick, naming ``issues``; returns whether a request was already
    waiting (this one merged into it)."""
    path = request_path(state_root)
    with _writing:
        waiting = read_request(path)
        merged = RefreshRequest(
            requested_at=waiting.requested_at if waiting and waiting.requested_at
            else iso_now(),
            issues=_names([*(waiting.issues if waiting else ()), *issues]),
            sources=_names([*(waiting.sources if waiting else ()), source]))
        write_atomic(path, json.dumps({"requested_at": merged.requested_at,
                                       "issues": list(merged.issues),
                                       "sources": list(merged.sources)}) + "\n",
                     durable=False)  # see the module's docstring
    wake_loop()
    return waiting is not None


def wake_loop() -> None:
    """Tell a loop in this process that a request file was just written (call after the
    write: the loop reads the file when it wakes)."""
    _written.set()


def wait_for_request(timeout_s: float) -> bool:
    """Sleep up to ``timeout_s`` seconds, less when a writer in this process calls
    :func:`wake_loop`; returns whether one did. The caller then takes the file, which
    stays the request: a wake with no file (taken already) is only an early look."""
    woken = _written.wait(timeout_s)
    _written.clear()
    return woken


def take_request(path: Path) -> RefreshRequest | None:
    """Remove and return the waiting request (the daemon's side); ``None`` if none."""
    taken = path.with_name(path.name + ".taken")
    try:
        os.replace(path, taken)
    except FileNotFoundError:
        return None
    try:
        return read_request(taken) or RefreshRequest(requested_at="")
    finally:
        taken.unlink(missing_ok=True)


def log_request(config: ServiceConfig, request: RefreshRequest) -> None:
    """One ``refresh_requested`` record: who asked for the tick about to run, and why."""
    named = f" about {', '.join(request.issues)}" if request.issues else ""
    logs.event(config, "refresh_requested",
               f"tick requested by {', '.join(request.sources) or 'operator'}{named}",
               issues=list(request.issues), sources=list(request.sources),
               requested_at=request.requested_at)
