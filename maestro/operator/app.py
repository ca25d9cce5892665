"""The operator's ASGI application: the route table, the guards, JSON errors.

:func:`create_app` is the one place that says what the server answers and in which order
the guards run. Other surfaces (webhooks, metrics) bring their own route lists::

    app = create_app(config, extra_routes=metric_routes(), signed_routes=webhook_routes(config))

Routes (every error is ``{"error": {"code", "message"}}``; a known path with another
method is a 405 from the table):

=================================  =====  ============================================
``/``                              GET    dashboard (HTML; ``?partial=1``: its ``<main>``)
``/lanes/<ID>``                    GET    lane page (HTML; ``?partial=1`` likewise)
``/events``                        GET    server-sent events: ``change`` when lanes change
``/state``, ``/api/v1/state``      GET    status snapshot + Symphony's baseline fields
``/api/v1/<ID>``                   GET    one lane (Symphony's issue shape)
``/api/v1/refresh``                POST   queue a tick (coalesced)
``/api/v1/<ID>/retry``, ``cancel`` POST   lane actions
``/api/v1/pause``, ``resume``      POST   hold or release new dispatch
=================================  =====  ============================================

A ``GET`` of the state document (compact JSON) is answered inside the guards by
:class:`~maestro.operator.state_route.StateRoute`, before the router: it is what pollers
ask for, and the router's layers cost more than the answer.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from http import HTTPStatus

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Scope

from maestro.config.service import ServiceConfig
from maestro.operator import api, pages
from maestro.operator.changes import LaneWatcher
from maestro.operator.guards import (
    RequestLimits,
    SecurityHeaders,
    TrustedClient,
    json_error,
    matches_any,
)
from maestro.operator.peer_guard import AgentRefusal
from maestro.operator.snapshot_cache import StatusCache
from maestro.operator.sse import events
from maestro.operator.state_route import STATE_PATHS, StateRoute


def routes() -> list[BaseRoute]:
    """The operator's own routes, in match order (write routes before ``/api/v1/<ID>``)."""
    return [
        Route("/", pages.dashboard, methods=["GET"]),
        Route("/lanes/{issue}", pages.lane_page, methods=["GET"]),
        Route("/static/{name}", pages.static, methods=["GET"]),
        Route("/events", events, methods=["GET"]),
        Route("/state", api.state, methods=["GET"]),
        Route("/api/v1/state", api.state, methods=["GET"]),
        Route("/api/v1/refresh", api.refresh, methods=["POST"]),
        Route("/api/v1/pause", api.pause, methods=["POST"]),
        Route("/api/v1/resume", api.resume, methods=["POST"]),
        Route("/api/v1/{issue}/retry", api.retry, methods=["POST"]),
        Route("/api/v1/{issue}/cancel", api.cancel, methods=["POST"]),
        Route("/api/v1/{issue:issue}", api.issue, methods=["GET"]),
    ]


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 (and any ``HTTPException``) in the API's error shape."""
    assert isinstance(exc, HTTPException)
    status = HTTPStatus(exc.status_code)
    if status == HTTPStatus.NOT_FOUND:
        message = f"no such route: {request.url.path[:80]}"
    elif status == HTTPStatus.METHOD_NOT_ALLOWED:
        message = f"method {request.method} not allowed here"
    else:
        message = str(exc.detail)
    return json_error(status, message, dict(exc.headers or {}))


async def _server_error(request: Request, exc: Exception) -> Response:
    return json_error(HTTPStatus.INTERNAL_SERVER_ERROR,
                      f"the server failed: {type(exc).__name__}")


def _get(path: str) -> Scope:
    """The scope of a ``GET`` of ``path``, as far as route matching reads it."""
    return {"type": "http", "method": "GET", "path": path, "root_path": ""}


def create_app(config: ServiceConfig, *, limit: int = 20,
               extra_routes: Sequence[BaseRoute] = (),
               signed_routes: Sequence[BaseRoute] = (), loopback: bool = True,
               token: str | None = None, watcher: LaneWatcher | None = None) -> Starlette:
    """The operator app over ``config``'s lane folders.

    ``extra_routes`` (``/metrics``, say) are matched before the operator's own and pass the
    same guards. ``signed_routes`` (webhooks) authenticate every delivery themselves by
    signature: they skip the Host/Origin/token checks and may take bodies up to 1 MiB.
    ``loopback``: the listener is a loopback address, so foreign Host names are refused.
    ``token``: required on every request when set (:class:`TrustedClient`). A write from a
    process a lane started is refused (:class:`~maestro.operator.peer_guard.AgentRefusal`).
    ``watcher``:
    the change counter behind ``/events`` (one per server; made here when not given).
    """
    status = StatusCache(config)  # every read endpoint's snapshot
    middleware = [Middleware(SecurityHeaders), Middleware(RequestLimits, signed=signed_routes),
                  Middleware(TrustedClient, loopback=loopback, token=token,
                             signed=signed_routes),
                  Middleware(AgentRefusal, config=config, loopback=loopback,
                             token=token is not None, signed=tuple(signed_routes))]
    if not any(matches_any([*signed_routes, *extra_routes], _get(path))
               for path in STATE_PATHS):  # a route given here would come first
        middleware.append(Middleware(StateRoute, cache=status, limit=limit))
    app = Starlette(
        routes=[*signed_routes, *extra_routes, *routes()],
        middleware=middleware,
        exception_handlers={HTTPException: _http_error, Exception: _server_error},
    )
    app.state.config = config
    app.state.limit = limit
    app.state.watcher = watcher or LaneWatcher(config)
    app.state.status = status
    app.state.stopping = threading.Event()  # set by the server: event streams end
    return app
