"""GraphQL over httpx, shared by the Linear and GitHub adapters.

A tracker is a remote service that fails in ordinary ways: it slows us down (HTTP 429, a
``Retry-After`` or rate-limit reset header, Linear's ``RATELIMITED`` and GitHub's
``RATE_LIMITED`` GraphQL errors), it has bad moments (5xx, timeouts, dropped connections)
and it refuses bad requests (other 4xx, GraphQL ``errors``). This module turns each of
those into one behaviour: rate limits wait as long as the service asks (up to a bound),
transient failures are retried with jittered exponential backoff by stamina, and everything
else becomes a :class:`~maestro.errors.TrackerError` that names the service, the operation
and what went wrong — never the credential.

``requests`` counts every HTTP request sent (retries included) so tests and the benchmark
can prove that a poll tick costs a constant number of requests; each answer (status code
and rate-limit headers) is also recorded in :mod:`maestro.observability.telemetry` for
``GET /metrics``.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import httpx
import stamina
import stamina.instrumentation
from pydantic import BaseModel, ConfigDict, ValidationError

from maestro.errors import ConfigError, RateLimitedError, TrackerError
from maestro.observability import telemetry

if TYPE_CHECKING:
    from maestro.config.service import ServiceConfig

log = logging.getLogger("maestro.trackers")
# stamina's own hooks print a bare "stamina.retry_scheduled" line per retry to stderr;
# maestro logs each retry itself, in its words (:meth:`GraphQLClient._say_retry`).
stamina.instrumentation.set_on_retry_hooks([])

ModelT = TypeVar("ModelT", bound=BaseModel)


class Secret:
    """A credential that never shows itself in ``repr``, ``str``, logs or errors."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


def secret_from_env(variable: str, purpose: str, config_key: str) -> Secret:
    """Read a credential from the environment variable the service config names.

    The message names the variable and the config key that chose it, never a value.
    """
    value = os.environ.get(variable, "").strip()
    if not value:
        raise ConfigError(
            f"environment variable {variable} is not set or empty; it must hold the "
            f"{purpose} (the variable is chosen by {config_key} in maestro.toml)"
        )
    return Secret(value)


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep trying; ``time_scale`` shrinks every wait (tests use a tiny one)."""

    attempts: int = 5
    wait_initial_s: float = 0.5
    wait_max_s: float = 30.0
    wait_jitter_s: float = 1.0
    max_rate_limit_wait_s: float = 60.0
    time_scale: float = 1.0


@dataclass
class RateLimitEvent:
    """The last time the service asked us to slow down (shown in logs and status)."""

    operation: str
    wait_s: float
    source: str
    at: dt.datetime


class _Transient(Exception):
    """A failure worth retrying; ``wait_s`` is the service's own hint, if any.
    ``maybe_applied``: the request may have reached the service and been carried out (a
    timeout or a dropped connection once it was sent, a 5xx from a proxy in front of it);
    never for a refused connection or a rate limit."""

    def __init__(self, message: str, wait_s: float | None = None, rate_limited: bool = False,
                 maybe_applied: bool = False):
        super().__init__(message)
        self.message = message
        self.wait_s = wait_s
        self.rate_limited = rate_limited
        self.maybe_applied = maybe_applied

    def waits_longer_than(self, limit_s: float) -> bool:
        """The service asked for a wait longer than ``limit_s`` (its hint, if any)."""
        return self.wait_s is not None and self.wait_s > limit_s


class WriteUnconfirmed(TrackerError):
    """A write sent with ``write="once"`` whose answer was lost: the service may have
    carried it out. The caller looks before sending it again (:func:`write_once`)."""


#: How a mutation may be sent again after a failure (:meth:`GraphQLClient.execute`):
#: ``"idempotent"``: a repeat changes nothing more (a label add, a state move);
#: ``"once"``: a repeat would write again (a comment, a new PR), so a lost answer is
#: confirmed by a read first.
WriteKind = Literal["idempotent", "once"]


class GraphQLErrorItem(BaseModel):
    """One entry of a GraphQL ``errors`` list; services add their own keys."""

    model_config = ConfigDict(extra="allow")

    message: str = ""
    path: list[str | int] | None = None
    type: str | None = None
    extensions: dict[str, Any] | None = None

    @property
    def code(self) -> str:
        ext = self.extensions or {}
        return str(self.type or ext.get("code") or ext.get("type") or "")


class _Envelope(BaseModel):
    model_config = ConfigDict(extra="allow")

    data: dict[str, Any] | None = None
    errors: list[GraphQLErrorItem] | None = None


_RATE_LIMIT_CODES = {"RATELIMITED", "RATE_LIMITED"}
_RESET_HEADERS = (
    "x-ratelimit-requests-reset",  # Linear: epoch milliseconds
    "x-ratelimit-complexity-reset",  # Linear: epoch milliseconds
    "x-ratelimit-reset",  # GitHub: epoch seconds
)


def wait_from_headers(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait according to ``Retry-After`` or a rate-limit reset header."""
    now = time.time() if now is None else now
    retry_after = headers.get("retry-after")
    if retry_after:
        try:
            return max(0.0, float(retry_after))
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(retry_after)
            except (TypeError, ValueError):
                when = None
            if when is not None:
                return max(0.0, when.timestamp() - now)
    for name in _RESET_HEADERS:
        raw = headers.get(name)
        if not raw:
            continue
        try:
            stamp = float(raw)
        except ValueError:
            continue
        if stamp > 1e11:  # milliseconds since the epoch
            stamp /= 1000.0
        return max(0.0, stamp - now)
    return None


@dataclass
class GraphQLClient:
    """One service endpoint, its credential header and the retry behaviour around it."""

    service: str
    url: str
    auth_header: Callable[[], dict[str, str]]
    timeout_s: float = 30.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    transport: httpx.BaseTransport | None = None
    requests: int = 0
    rate_limits: list[RateLimitEvent] = field(default_factory=list)
    _client: httpx.Client | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return (
            f"GraphQLClient(service={self.service!r}, url={self.url!r}, "
            f"requests={self.requests})"
        )

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(
                timeout=httpx.Timeout(self.timeout_s),
                transport=self.transport,
                headers={"User-Agent": "maestro", "Accept": "application/json"},
                follow_redirects=False,
            )
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    @property
    def last_rate_limit(self) -> RateLimitEvent | None:
        return self.rate_limits[-1] if self.rate_limits else None

    # -- one call --------------------------------------------------------------------------

    def execute(
        self,
        operation: str,
        document: str,
        variables: Mapping[str, Any] | None = None,
        *,
        tolerate: Callable[[GraphQLErrorItem], bool] | None = None,
        write: WriteKind | None = None,
    ) -> dict[str, Any]:
        """Run ``document`` and return its ``data``; ``tolerate`` accepts benign errors.

        Errors that ``tolerate`` does not accept, and a response without ``data``, raise
        ``TrackerError``; rate limits and transient failures are retried first. A mutation
        must say how it may be repeated (``write``, :data:`WriteKind`): a ``"once"`` write
        whose answer was lost after it was sent raises :class:`WriteUnconfirmed` instead
        of being sent again (breaker 23: GitHub and Linear store a comment whose answer a
        proxy or a timeout lost, and the retry posted it twice).
        """
        if write is None and document.lstrip().startswith("mutation"):
            raise ValueError(f"{operation}: a mutation must say how it may be repeated "
                             "(write='idempotent' or write='once')")
        payload = {"query": document, "variables": dict(variables or {})}
        policy = self.retry

        def backoff(exc: Exception) -> bool | float:
            if not isinstance(exc, _Transient):
                return False
            if exc.wait_s is None:
                return True
            if exc.waits_longer_than(policy.max_rate_limit_wait_s):
                return False
            return exc.wait_s * policy.time_scale

        tried = 0
        try:
            for attempt in stamina.retry_context(
                on=backoff,
                attempts=policy.attempts,
                timeout=None,
                wait_initial=policy.wait_initial_s * policy.time_scale,
                wait_max=policy.wait_max_s * policy.time_scale,
                wait_jitter=policy.wait_jitter_s * policy.time_scale,
            ):
                tried = attempt.num
                with attempt:
                    try:
                        return self._once(operation, payload, tolerate)
                    except _Transient as exc:
                        if exc.maybe_applied and write == "once":
                            raise WriteUnconfirmed(
                                f"{self.service}: {operation}: {exc.message}; the write may "
                                "have been carried out") from None
                        self._say_retry(operation, exc, tried)
                        raise
        except _Transient as exc:
            why = (f"; the wait is longer than max_rate_limit_wait_s "
                   f"({policy.max_rate_limit_wait_s:g} s)"
                   if exc.waits_longer_than(policy.max_rate_limit_wait_s)
                   else "")
            if exc.rate_limited:
                raise RateLimitedError(
                    f"{self.service}: {operation}: rate limited ({exc.message}); "
                    f"gave up after {tried} attempt(s){why}",
                    retry_after=exc.wait_s,
                ) from None
            raise TrackerError(
                f"{self.service}: {operation}: {exc.message}; gave up after "
                f"{tried} attempt(s){why}"
            ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _once(
        self,
        operation: str,
        payload: dict[str, Any],
        tolerate: Callable[[GraphQLErrorItem], bool] | None,
    ) -> dict[str, Any]:
        self.requests += 1
        try:
            response = self.client.post(self.url, json=payload, headers=self.auth_header())
        except httpx.TimeoutException as exc:
            telemetry.current().record_response(self.service, None)
            raise _Transient(f"timed out after {self.timeout_s:g} s", maybe_applied=not (
                isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout))) from None
        except httpx.TransportError as exc:
            telemetry.current().record_response(self.service, None)
            raise _Transient(f"cannot reach {self.url}: {type(exc).__name__}",
                             maybe_applied=not isinstance(exc, httpx.ConnectError)) from None
        status = response.status_code
        headers = response.headers
        telemetry.current().record_response(self.service, status, headers)
        if status == 429 or (status == 403 and self._is_rate_limit_403(headers)):
            self._rate_limited(operation, wait_from_headers(headers), f"HTTP {status}")
        if status >= 500:
            raise _Transient(f"HTTP {status} from {self.url}", maybe_applied=True)
        envelope = self._envelope(operation, response)
        errors = envelope.errors or []
        for error in errors:
            if error.code.upper() in _RATE_LIMIT_CODES:
                self._rate_limited(operation, wait_from_headers(headers), f"{error.code} error")
        if status >= 400:
            detail = "; ".join(e.message for e in errors)[:300] or response.reason_phrase
            raise TrackerError(
                f"{self.service}: {operation}: HTTP {status} from {self.url}: {detail}"
            )
        blocking = [e for e in errors if tolerate is None or not tolerate(e)]
        if blocking:
            detail = "; ".join(_describe(e) for e in blocking[:5])
            raise TrackerError(f"{self.service}: {operation}: the API returned errors: {detail}")
        if envelope.data is None:
            raise TrackerError(f"{self.service}: {operation}: response has no data")
        return envelope.data

    def _envelope(self, operation: str, response: httpx.Response) -> _Envelope:
        try:
            raw = response.json()
        except ValueError:
            if response.status_code >= 400:
                raise TrackerError(
                    f"{self.service}: {operation}: HTTP {response.status_code} from {self.url}"
                ) from None
            raise TrackerError(
                f"{self.service}: {operation}: response is not JSON "
                f"(HTTP {response.status_code}, {len(response.content)} bytes)"
            ) from None
        try:
            return _Envelope.model_validate(raw)
        except ValidationError as exc:
            raise TrackerError(
                f"{self.service}: {operation}: response is not a GraphQL result: "
                f"{_first_problem(exc)}"
            ) from None

    @staticmethod
    def _is_rate_limit_403(headers: httpx.Headers) -> bool:
        return headers.get("x-ratelimit-remaining") == "0" or "retry-after" in headers

    def _rate_limited(self, operation: str, wait_s: float | None, source: str) -> None:
        wait = self.retry.wait_initial_s if wait_s is None else wait_s
        event = RateLimitEvent(operation, wait, source, dt.datetime.now(dt.UTC))
        telemetry.current().record_rate_limited(self.service)
        self.rate_limits.append(event)
        del self.rate_limits[:-20]
        raise _Transient(f"{source}, asked to wait {wait:.1f} s", wait_s=wait, rate_limited=True)


    def _say_retry(self, operation: str, exc: _Transient, tried: int) -> None:
        """Log a rate limit truthfully: a wait only when a retry follows it."""
        policy = self.retry
        if not exc.rate_limited or exc.wait_s is None:
            if tried < policy.attempts:
                log.debug("%s: %s: %s; retrying (attempt %d of %d)", self.service, operation,
                          exc.message, tried + 1, policy.attempts)
            return
        if exc.waits_longer_than(policy.max_rate_limit_wait_s):
            log.warning("%s: %s: rate limited; asked to wait %.1f s, longer than "
                        "max_rate_limit_wait_s (%g s): not retrying",
                        self.service, operation, exc.wait_s, policy.max_rate_limit_wait_s)
        elif tried < policy.attempts:
            log.warning("%s: %s: rate limited (%s); waiting %.1f s before attempt %d of %d",
                        self.service, operation, exc.message, exc.wait_s, tried + 1,
                        policy.attempts)


ResultT = TypeVar("ResultT")


#: Seconds before each further look for a write whose answer was lost, when the look right
#: after it finds nothing: a list read just after a write can lag it (a read replica behind
#: the write), and a comment sent again on that word is posted twice (breaker 24 F6).
#: Scaled by :attr:`RetryPolicy.time_scale`; only a lost answer pays them.
LAG_LOOKS_S = (1.0, 3.0)


def write_once(send: Callable[[], ResultT], find: Callable[[], ResultT | None],
               retry: RetryPolicy) -> ResultT:
    """Send a ``write="once"`` mutation; when its answer is lost, ``find`` looks for what
    it would have written (a comment by its marker, the PR of a branch) and returns it,
    or ``None`` to send again, at most ``retry.attempts`` times in all. Before a send
    again, the look is repeated after each of :data:`LAG_LOOKS_S`. A failing look raises:
    nothing is sent twice on a guess."""
    for tried in range(1, retry.attempts + 1):
        try:
            return send()
        except WriteUnconfirmed:
            found = _looked_for(find, retry)
            if found is not None:
                return found
            if tried == retry.attempts:
                raise
        except TrackerError:
            # A refusal is not sent again, but a service may refuse in words after it
            # did the write (GitHub's INTERNAL "something went wrong", breaker 25 F3).
            found = _looked_for(find, retry)
            if found is not None:
                return found
            raise
    raise AssertionError("unreachable")  # pragma: no cover


def _looked_for(find: Callable[[], ResultT | None], retry: RetryPolicy) -> ResultT | None:
    """``find()``, made again after each of :data:`LAG_LOOKS_S` while it finds nothing."""
    found = find()
    for wait_s in LAG_LOOKS_S if found is None else ():
        time.sleep(wait_s * retry.time_scale)
        if (found := find()) is not None:
            break
    return found


def parse(model: type[ModelT], data: Any, service: str, operation: str) -> ModelT:
    """Validate a response's ``data`` against the shape the adapter reads."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise TrackerError(
            f"{service}: {operation}: unexpected response shape: {_first_problem(exc)}"
        ) from None



def parse_or_skip(model: type[ModelT], node: Any, service: str, operation: str, name: str,
                  problems: list[str]) -> ModelT | None:
    """One issue of a page as :func:`parse` reads it, or None when its payload does not have
    that shape: ``"<service>: issue <name> skipped: <why>"`` goes to ``problems`` instead,
    so one odd issue never stops a tick."""
    try:
        return parse(model, node, service, operation)
    except TrackerError as exc:
        problems.append(f"{service}: issue {name} skipped: {exc}")
        return None

def _describe(error: GraphQLErrorItem) -> str:
    where = ".".join(str(p) for p in error.path or [])
    code = f"[{error.code}] " if error.code else ""
    return f"{code}{error.message}" + (f" at {where}" if where else "")


def _first_problem(exc: ValidationError) -> str:
    problems = exc.errors()
    first = problems[0]
    where = ".".join(str(p) for p in first["loc"]) or "(top level)"
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"{where}: {first['msg']}{more}"


def client_for(
    service: str,
    url: str,
    secret: Secret,
    scheme: str,
    timeout_s: float,
    max_attempts: int,
    max_rate_limit_wait_s: float,
) -> GraphQLClient:
    """A client whose ``Authorization`` header is ``<scheme> <secret>`` (or the bare key)."""

    def auth() -> dict[str, str]:
        value = secret.reveal()
        return {"Authorization": f"{scheme} {value}" if scheme else value}

    return GraphQLClient(
        service=service,
        url=url,
        auth_header=auth,
        timeout_s=timeout_s,
        retry=RetryPolicy(attempts=max_attempts, max_rate_limit_wait_s=max_rate_limit_wait_s),
    )


def github_graphql_client(config: ServiceConfig, service: str) -> tuple[GraphQLClient, Secret]:
    """The GitHub GraphQL client both the Issues tracker and the forge use: the token from
    ``[github] token_env_var``, retry limits from ``[tracker]``."""
    secret = secret_from_env(config.github.token_env_var, "GitHub token", "github.token_env_var")
    limits = config.tracker
    client = client_for(service, config.github.graphql_url, secret, "bearer", limits.timeout_s,
                        limits.max_attempts, limits.max_rate_limit_wait_s)
    return client, secret


class ClientMetrics:
    """What every GraphQL-backed adapter reports about its client (request count, last
    rate limit), for status displays, tests and benchmarks."""

    client: GraphQLClient

    @property
    def requests(self) -> int:
        """HTTP requests sent so far, retries included (tests and the benchmark read it)."""
        return self.client.requests

    @property
    def last_rate_limit(self) -> RateLimitEvent | None:
        """The last time the service asked maestro to slow down, for status displays."""
        return self.client.last_rate_limit
