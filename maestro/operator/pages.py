"""The HTML endpoints: the dashboard, a lane's page, and their two static files.

Each page is rendered whole by :mod:`maestro.operator.views`; with ``?partial=1`` only its
``<main>``, which the page's script swaps in when ``/events`` says something changed.
"""

from __future__ import annotations

from http import HTTPStatus
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from maestro.config.service import ServiceConfig
from maestro.ids import utc_now
from maestro.lanes.record.state import LaneState
from maestro.operator.api import ISSUE_ID
from maestro.operator.guards import json_error
from maestro.operator.snapshot_cache import StatusCache
from maestro.operator.status import snapshot
from maestro.operator.timeline import segments
from maestro.operator.transcript import entries, last_comment, read_journal
from maestro.operator.views import dashboard_main, lane_main, page

STATIC = Path(__file__).with_name("static")
_TYPES = {"maestro.css": "text/css; charset=utf-8",
          "maestro.js": "text/javascript; charset=utf-8"}


def _html(request: Request, title: str, main: str, lane: str | None = None) -> Response:
    if request.query_params.get("partial"):
        return HTMLResponse(main)
    return HTMLResponse(page(title, main, lane=lane))


async def dashboard(request: Request) -> Response:
    config: ServiceConfig = request.app.state.config
    cache: StatusCache = request.app.state.status
    snap = await run_in_threadpool(cache.snapshot, request.app.state.limit)
    return _html(request, f"maestro · {config.id}", dashboard_main(snap.doc, utc_now()))


def render_lane(config: ServiceConfig, identifier: str, limit: int,
                cache: StatusCache | None = None) -> str | None:
    """The lane page's ``<main>``, or ``None`` when there is no such lane (the snapshot
    from ``cache`` when given, else read now)."""
    snap = cache.snapshot(limit).doc if cache is not None else snapshot(config, limit)
    lane: dict[str, Any] | None = next(
        (item for item in snap["lanes"] if item["issue"] == identifier), None)
    if lane is None:
        return None
    now = utc_now()
    state = LaneState(config.lanes_root, identifier)
    journal = read_journal(state.dir)
    found = segments(journal, now, running_phase=lane["phase"] if lane["running"] else None,
                     needs_human=bool(lane.get("needs_human")))
    return lane_main(lane, now, found=found, story=entries(journal),
                     validation=state.read("validation.json"), merge=state.read("merge.json"),
                     said=last_comment(state.dir) if lane.get("needs_human") else None)


async def lane_page(request: Request) -> Response:
    identifier = request.path_params["issue"]
    if not ISSUE_ID.fullmatch(identifier) or ".." in identifier:
        return json_error(HTTPStatus.BAD_REQUEST, "not an issue identifier")
    config: ServiceConfig = request.app.state.config
    main = await run_in_threadpool(render_lane, config, identifier, request.app.state.limit,
                                   request.app.state.status)
    if main is None:
        return json_error(HTTPStatus.NOT_FOUND, f"no lane for issue {identifier}")
    return _html(request, f"{identifier} · maestro", main, lane=identifier)


async def static(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in _TYPES:
        return json_error(HTTPStatus.NOT_FOUND, f"no such file: {name[:80]}")
    return Response((STATIC / name).read_bytes(), media_type=_TYPES[name])
