"""``GET /state`` and ``GET /api/v1/state`` as a plain ASGI answer, inside the guards.

The state document is what dashboards and scripts poll, and the server shares the daemon's
interpreter (:mod:`maestro.operator.http`): each request's Python work is taken from the
poll tick. Through Starlette's router, ``Request`` and ``Response`` objects and a worker
thread, an unchanged state document cost about twice the CPU of the look itself
(``bench/bench_state_api.py``, docs/performance.md). :class:`StateRoute` sits where
Starlette puts the last user middleware: after
:class:`~maestro.operator.guards.SecurityHeaders`,
:class:`~maestro.operator.guards.RequestLimits` and
:class:`~maestro.operator.guards.TrustedClient` (so every refusal and stamp is the same),
inside Starlette's error handler (so a failure is the same JSON 500), and answers a
``GET`` of those two paths itself. Anything else (``HEAD``, other methods and paths) goes
on to the router unchanged, which stays the one place for 404 and 405.
"""

from __future__ import annotations

import asyncio
import time

from anyio import to_thread
from starlette.types import ASGIApp, Receive, Scope, Send

from maestro.operator.snapshot_cache import StatusCache
from maestro.orchestration.tick_priority import tick_planning

#: The paths the route table serves with :func:`maestro.operator.api.state`.
STATE_PATHS = frozenset({"/state", "/api/v1/state"})
JSON_TYPE = b"application/json; charset=utf-8"


class StateRoute:
    """Answer ``GET`` of :data:`STATE_PATHS` from ``cache``; pass everything else on.

    When nothing changed, the answer costs ``stat`` calls alone and is made on the event
    loop (a worker thread's hand-offs cost more than that); requests taken up in the same
    turn of the loop share one look. When something must be read the look runs in a worker
    thread, as the route table's endpoint does, so a rebuild never holds the loop; and so
    it does while the poll tick plans (:mod:`maestro.orchestration.tick_priority`): the
    thread's hand-offs of the interpreter lock let the tick go first, where a loop
    answering back to back would take half of it."""

    def __init__(self, app: ASGIApp, cache: StatusCache, limit: int) -> None:
        self.app = app
        self.cache = cache
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or scope["method"] != "GET"
                or scope["path"] not in STATE_PATHS):
            await self.app(scope, receive, send)
            return
        asked = time.monotonic_ns()
        await asyncio.sleep(0)  # requests taken up with this one can share its look
        body = None if tick_planning() else self.cache.quick_state_body(self.limit, asked)
        if body is None:
            body = await to_thread.run_sync(self.cache.state_body, self.limit)
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", b"%d" % len(body)),
                                (b"content-type", JSON_TYPE)]})
        await send({"type": "http.response.body", "body": body})
