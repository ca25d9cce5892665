"""``POST /webhooks/github`` and ``POST /webhooks/linear``: a verified delivery makes the
daemon tick now instead of at its next poll.

Each delivery goes through the same steps, and the first that fails answers:

1. the provider's secret is set (the variable ``[webhooks] *_secret_env_var`` names) — else
   ``503``: the endpoint cannot tell a real delivery from a forged one;
2. the body fits ``[webhooks] max_body_bytes`` — else ``413``, read no further;
3. the signature over the raw body is good (:mod:`.signatures`) — else ``401``;
4. the body is a JSON object (GitHub's form encoding, ``payload=<json>``, is read too) —
   else ``400``; a Linear delivery must also be fresh (``401`` otherwise, a replay);
5. the event can change a tick (:mod:`.events`) — else ``202`` with ``"ignored": true``;
6. a refresh request naming the affected issues is written
   (:func:`maestro.orchestration.refresh.request_refresh`) — ``202`` with
   ``"queued": true``. The daemon takes it within its 0.2 s wake-up and ticks.

Every refusal (401, 503, 413, 400) is journaled in the structured log as
``webhook_refused`` with the reason, the delivery id and the peer's address, and counted
in ``maestro_webhook_deliveries_total``; accepted deliveries are journaled as
``webhook_received``. A replayed GitHub delivery is harmless by design: it can only cause
one more tick, and a tick re-reads the world.

The routes authenticate by signature, not by origin: they are meant to be reached through
a tunnel or a reverse proxy, so they take no Host or Origin rule of the dashboard's.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from maestro.config.service import ServiceConfig
from maestro.config.workflow import load_workflow
from maestro.errors import MaestroError
from maestro.fsutil import parse_json, read_json
from maestro.lanes.record.listing import list_lanes
from maestro.observability import logs, telemetry
from maestro.observability.telemetry import Telemetry
from maestro.operator.webhooks import signatures
from maestro.operator.webhooks.events import Affected, Naming, github_affected, linear_affected
from maestro.orchestration.refresh import request_refresh

_PRINTABLE = re.compile(r"[^\w.:-]")


class _Refused(Exception):
    """A delivery answered before it could be used: ``status`` and a reason to log."""

    def __init__(self, status: int, code: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.code, self.reason = status, code, reason


@dataclass(frozen=True)
class _Provider:
    name: str
    secret: bytes
    env_var: str
    delivery_header: str


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status,
                        headers={"Cache-Control": "no-store"})


async def _bounded_body(request: Request, limit: int) -> bytes:
    """The raw body, refusing (413) at the first byte past ``limit``: a declared length
    over it is refused before anything is read."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise _Refused(413, "payload_too_large", f"body over {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _Refused(413, "payload_too_large", f"body over {limit} bytes")
    return bytes(body)


def _payload(request: Request, body: bytes) -> dict[str, Any]:
    """The delivery as a JSON object; GitHub's ``application/x-www-form-urlencoded``
    deliveries carry the same JSON in a ``payload`` field."""
    text = body.decode("utf-8", errors="replace")
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        text = (parse_qs(text).get("payload") or [""])[0]
    try:
        value = parse_json(text)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise _Refused(400, "bad_request", "the body is not a JSON object")
    return value


def naming(config: ServiceConfig) -> Naming:
    """How payloads map to lanes here: the workflow's prefixes and the lanes on disk.

    A WORKFLOW.md that does not load gives the defaults (the tick will say what is wrong);
    finished lanes are left out of the PR table (their PRs are closed or merged)."""
    try:
        policy = load_workflow(config.workflow_path).policy
        branch_prefix = policy.forge.branch_prefix
        prefix = policy.tracker.issue_prefix if policy.tracker.provider == "github" else None
    except MaestroError:
        branch_prefix, prefix = "maestro/", None
    lanes = list_lanes(config.lanes_root).identifiers
    by_pr: dict[int, str] = {}
    for lane in lanes:
        folder = config.lanes_root / lane
        if (folder / "cleanup.json").exists():
            continue
        number = (read_json(folder / "pr.json") or {}).get("number")
        if isinstance(number, int) and number > 0:
            by_pr[number] = lane
    return Naming(branch_prefix=branch_prefix, github_issue_prefix=prefix,
                  lanes=frozenset(lanes), lane_by_pr=by_pr)


def webhook_routes(config: ServiceConfig, recorder: Telemetry | None = None) -> list[Route]:
    """The two webhook routes for an app to mount. Secrets are read from the environment
    now, once; ``recorder`` defaults to this process's
    :func:`maestro.observability.telemetry.current`."""
    counts = recorder or telemetry.current()
    settings = config.webhooks

    def provider(name: str, env_var: str, delivery_header: str) -> _Provider:
        secret = os.environ.get(env_var, "").strip().encode()
        return _Provider(name, secret, env_var, delivery_header)

    github = provider("github", settings.github_secret_env_var, "X-GitHub-Delivery")
    linear = provider("linear", settings.linear_secret_env_var, "Linear-Delivery")

    def journal_refusal(source: _Provider, request: Request, refused: _Refused) -> None:
        logs.event(config, "webhook_refused", f"{source.name} webhook refused: "
                   f"{refused.reason}", level=logging.WARNING, provider=source.name,
                   status=refused.status, reason=refused.reason,
                   delivery=_clean(request.headers.get(source.delivery_header)),
                   peer=request.client.host if request.client else None)

    def queue(source: _Provider, request: Request, affected: Affected) -> bool:
        coalesced = request_refresh(config.state_root, affected.issues, source.name)
        logs.event(config, "webhook_received", f"{source.name} {affected.what}: tick "
                   f"requested" + (f" for {', '.join(affected.issues)}"
                                   if affected.issues else ""),
                   provider=source.name, what=affected.what, issues=list(affected.issues),
                   delivery=_clean(request.headers.get(source.delivery_header)))
        return coalesced

    def endpoint(source: _Provider,
                 read: Callable[[Request, bytes], Affected]
                 ) -> Callable[[Request], Awaitable[Response]]:
        async def receive(request: Request) -> Response:
            try:
                if not source.secret:
                    raise _Refused(503, "not_configured",
                                   f"no webhook secret: set {source.env_var} (named by "
                                   f"webhooks.{source.name}_secret_env_var in maestro.toml)")
                body = await _bounded_body(request, settings.max_body_bytes)
                affected = await run_in_threadpool(read, request, body)
            except _Refused as refused:
                counts.record_webhook(source.name, "refused")
                await run_in_threadpool(journal_refusal, source, request, refused)
                return _error(refused.status, refused.code, refused.reason)
            if not affected.relevant:
                counts.record_webhook(source.name, "ignored")
                return JSONResponse({"ignored": True, "event": affected.what},
                                    status_code=202)
            coalesced = await run_in_threadpool(queue, source, request, affected)
            counts.record_webhook(source.name, "accepted")
            return JSONResponse({"queued": True, "coalesced": coalesced,
                                 "event": affected.what, "issues": list(affected.issues)},
                                status_code=202)

        return receive

    def read_github(request: Request, body: bytes) -> Affected:
        refusal = signatures.github_refusal(github.secret, body,
                                            request.headers.get(signatures.GITHUB_HEADER))
        if refusal:
            raise _Refused(401, "unauthorized", refusal)
        payload = _payload(request, body)
        event = request.headers.get("X-GitHub-Event", "")
        return github_affected(event, payload, naming(config))

    def read_linear(request: Request, body: bytes) -> Affected:
        refusal = signatures.linear_refusal(linear.secret, body,
                                            request.headers.get(signatures.LINEAR_HEADER))
        if refusal:
            raise _Refused(401, "unauthorized", refusal)
        payload = _payload(request, body)
        # The body's time is covered by the signature; the header is not, so it is read
        # only when the body has none (a replayer could set a fresh header at will).
        signed_at = payload.get("webhookTimestamp")
        if signed_at is None:
            signed_at = request.headers.get(signatures.LINEAR_TIMESTAMP_HEADER)
        stale = signatures.linear_staleness(signed_at, time.time(), settings.linear_max_age_s)
        if stale:
            raise _Refused(401, "unauthorized", stale)
        return linear_affected(payload)

    return [Route("/webhooks/github", endpoint(github, read_github), methods=["POST"]),
            Route("/webhooks/linear", endpoint(linear, read_linear), methods=["POST"])]


def _clean(value: str | None) -> str | None:
    """A header value fit for a log field: word characters only, 80 at most."""
    return None if value is None else _PRINTABLE.sub("?", value)[:80]
