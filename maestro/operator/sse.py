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
from http import HTTPStatus
from typing import Any

import anyio
from sse_starlette.sse import EventSourceResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from maestro.operator.changes import STATE_KEY, LaneWatcher
from maestro.operator.guards import json_error

PING_S = 15
#: Event streams open at once; a dashboard tab holds one.
MAX_EVENT_STREAMS = 16


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


async def _counted(state: Any, stream: AsyncIterator[dict[str, str]]
                   ) -> AsyncIterator[dict[str, str]]:
    """``stream``, counted in ``state.event_streams`` while it is open."""
    state.event_streams = getattr(state, "event_streams", 0) + 1
    try:
        async for event in stream:
            yield event
    finally:
        state.event_streams -= 1


async def events(request: Request) -> Response:
    """The stream, unless :data:`MAX_EVENT_STREAMS` are open already (``503``): a stream
    stays open for as long as its client wants, and any local process may open one (reads
    are not peer-checked), so without a cap idle streams could take every connection the
    server keeps (:data:`maestro.operator.protocol.MAX_CONNECTIONS`) and leave none for
    the operator's own requests and the webhooks."""
    state = request.app.state
    if getattr(state, "event_streams", 0) >= MAX_EVENT_STREAMS:
        return json_error(HTTPStatus.SERVICE_UNAVAILABLE,
                          f"{MAX_EVENT_STREAMS} event streams are open already; try again later")
    lane = request.query_params.get("lane") or None
    stopping: threading.Event = state.stopping
    return EventSourceResponse(_counted(state, _stream(state.watcher, lane, stopping)),
                               ping=PING_S, headers={"Cache-Control": "no-store"})
