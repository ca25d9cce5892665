"""The JSON API's endpoints: state, one issue, refresh, and the operator's actions.

Reads go through :mod:`maestro.operator.presenter`; the writes are the daemon's refresh
flag and the actions of :mod:`maestro.operator.actions` (retry, cancel, pause, resume:
idempotent and journaled there). Every write route is ``POST`` and passes the same guards
(:class:`maestro.operator.guards.TrustedClient`) as ``/api/v1/refresh``.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from http import HTTPStatus
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import Response

from maestro.config.service import ServiceConfig
from maestro.errors import InputError, MaestroError
from maestro.ids import iso_now
from maestro.operator.guards import json_error
from maestro.operator.presenter import issue_payload
from maestro.operator.snapshot_cache import StatusCache, encode_json
from maestro.orchestration.refresh import request_path, request_refresh

ISSUE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
#: Names under ``/api/v1/`` that are routes, not issues, and the action suffixes.
RESERVED = ("state", "refresh", "pause", "resume")
LANE_ACTIONS = ("retry", "cancel")


class IssueConvertor(Convertor[str]):
    """Anything under ``/api/v1/`` but the reserved routes, so a ``GET`` on a write route
    is a 405 from the route table, and a malformed identifier reaches the endpoint for a
    clear 400 instead of a bare 404."""

    regex = (f"(?!(?:{'|'.join(RESERVED)})$)"
             f"(?!.*/(?:{'|'.join(LANE_ACTIONS)})$).+")

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("issue", IssueConvertor())


JSON_TYPE = "application/json; charset=utf-8"


def json_response(value: Any, status: int = 200) -> Response:
    return Response(encode_json(value), status_code=status, media_type=JSON_TYPE)


def config_of(request: Request) -> ServiceConfig:
    config: ServiceConfig = request.app.state.config
    return config


def refresh_flag(config: ServiceConfig) -> Path:
    """The file the daemon polls for; see
    :meth:`~maestro.orchestration.orchestrator.Orchestrator.daemon`."""
    return request_path(config.state_root)


def queue_refresh(config: ServiceConfig) -> bool:
    """Ask the daemon for a tick (the operator's request, as webhooks ask with
    :func:`~maestro.orchestration.refresh.request_refresh`); ``True`` when one was already
    waiting (coalesced)."""
    return request_refresh(config.state_root)


def bad_identifier(identifier: str) -> Response | None:
    if not ISSUE_ID.fullmatch(identifier) or ".." in identifier:
        return json_error(HTTPStatus.BAD_REQUEST, "not an issue identifier: expected 1-64 "
                          "letters, digits, '.', '_' or '-'")
    return None


def unknown_issue(identifier: str) -> Response:
    return json_response({"error": {"code": "issue_not_found",
                                    "message": f"no lane for issue {identifier}"}}, 404)


def status_cache(request: Request) -> StatusCache:
    """The server's snapshot cache (:mod:`maestro.operator.snapshot_cache`)."""
    cache: StatusCache = request.app.state.status
    return cache


async def state(request: Request) -> Response:
    body = await run_in_threadpool(status_cache(request).state_body, request.app.state.limit)
    return Response(body, media_type=JSON_TYPE)


async def issue(request: Request) -> Response:
    identifier = request.path_params["issue"]
    refusal = bad_identifier(identifier)
    if refusal is not None:
        return refusal
    config = config_of(request)
    snap = await run_in_threadpool(status_cache(request).snapshot, request.app.state.limit)
    lane = next((item for item in snap.doc["lanes"] if item["issue"] == identifier), None)
    if lane is None:
        return unknown_issue(identifier)
    return json_response(await run_in_threadpool(issue_payload, config, snap.doc, lane,
                                                 snap.reads.get(identifier)))


async def refresh(request: Request) -> Response:
    coalesced = queue_refresh(config_of(request))
    return json_response({"queued": True, "coalesced": coalesced, "requested_at": iso_now(),
                          "operations": ["poll", "reconcile"]}, 202)


def _action(name: str) -> Callable[..., str] | None:
    """``maestro.operator.actions.<name>``, imported when first used."""
    try:
        module = importlib.import_module("maestro.operator.actions")
    except ImportError:
        return None
    found = getattr(module, name, None)
    return found if callable(found) else None


async def _run_action(request: Request, name: str, *args: str) -> Response:
    action = _action(name)
    if action is None:
        return json_error(HTTPStatus.NOT_IMPLEMENTED, f"action {name} is not available")
    config = config_of(request)
    try:
        message = await run_in_threadpool(action, config, *args)
    except InputError as exc:
        if args:
            return json_response({"error": {"code": "issue_not_found", "message": str(exc)}},
                                 404)
        return json_error(HTTPStatus.BAD_REQUEST, str(exc))
    except MaestroError as exc:
        return json_error(HTTPStatus.CONFLICT, str(exc))
    queue_refresh(config)  # the daemon acts on it now rather than at its next poll
    return json_response({"ok": True, "action": name, "issue": args[0] if args else None,
                          "message": str(message)})


async def _lane_action(request: Request, name: str) -> Response:
    identifier = request.path_params["issue"]
    refusal = bad_identifier(identifier)
    if refusal is not None:
        return refusal
    return await _run_action(request, name, identifier)


async def retry(request: Request) -> Response:
    return await _lane_action(request, "retry")


async def cancel(request: Request) -> Response:
    return await _lane_action(request, "cancel")


async def pause(request: Request) -> Response:
    return await _run_action(request, "pause")


async def resume(request: Request) -> Response:
    return await _run_action(request, "resume")
