"""``GET /events``: server-sent events that tell a live page its lanes changed.

Events: ``hello`` (``{"version"}``) on connect, then ``change`` (``{"version", "lanes"}``,
``lanes`` naming the lane folders that moved, ``"*"`` for the state root) whenever the
server's :class:`~maestro.operator.changes.LaneWatcher` sees a change. ``?lane=ID`` limits
``change`` to one lane (plus the state root). The page then fetches its own ``?partial=1``
and swaps it in: the event carries no lane data, so it needs no escaping of its own.
The stream ends when the server stops (``app.state.stopping``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator

import anyio
from sse_starlette.sse import EventSourceResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from maestro.operator.changes import STATE_KEY, LaneWatcher

PING_S = 15


async def _stream(watcher: LaneWatcher, lane: str | None,
                  stopping: threading.Event) -> AsyncIterator[dict[str, str]]:
    seen = await run_in_threadpool(watcher.poll)
    yield {"event": "hello", "data": json.dumps({"version": seen})}
    while not stopping.is_set():
        await anyio.sleep(watcher.interval_s)
        version = await run_in_threadpool(watcher.poll)
        if version == seen:
            continue
        changed = watcher.changed_since(seen)
        seen = version
        if changed is not None and lane is not None and not changed & {lane, STATE_KEY}:
            continue
        yield {"event": "change",
               "data": json.dumps({"version": version,
                                   "lanes": sorted(changed) if changed is not None else None})}


async def events(request: Request) -> EventSourceResponse:
    lane = request.query_params.get("lane") or None
    stopping: threading.Event = request.app.state.stopping
    return EventSourceResponse(_stream(request.app.state.watcher, lane, stopping),
                               ping=PING_S, headers={"Cache-Control": "no-store"})
