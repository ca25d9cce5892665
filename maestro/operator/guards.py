"""The operator server's ASGI middleware: one refusal rule each, in the order they run.

``SecurityHeaders`` (outermost) stamps every answer, refusals included; ``RequestLimits``
refuses malformed or oversized requests before routing; ``TrustedClient`` refuses what a
hostile web page could send through the operator's browser, and requests without the
token when one is required. :func:`maestro.operator.app.create_app` states the order once.

Every refusal is the API's JSON envelope (:func:`maestro.operator.protocol.error_body`).
"""

from __future__ import annotations

import hmac
import ipaddress
import re
from collections.abc import Sequence
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

from starlette.datastructures import Headers
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from maestro.operator.protocol import MAX_HEAD_BYTES, error_body

#: Longer request targets are refused (414) before the path is decoded.
MAX_PATH = 512
#: More header lines than this are refused (431), as the standard library server did.
MAX_HEADERS = 100
#: The largest request body the operator's own routes take (the action routes take none).
MAX_BODY = 4096
#: The largest body of a self-authenticating route (a webhook delivery carries an event).
MAX_SIGNED_BODY = 1024 * 1024
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
TOKEN_COOKIE = "maestro_operator_token"
_BODY_METHODS = (b"POST", b"PUT", b"PATCH", b"DELETE")


def json_error(status: HTTPStatus, message: str,
               headers: dict[str, str] | None = None) -> Response:
    """A refusal in the API's error shape."""
    return Response(error_body(status, message), status_code=int(status),
                    media_type="application/json; charset=utf-8", headers=headers)


def is_loopback(host: str) -> bool:
    """A loopback address or ``localhost``; host names are not resolved."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host.lower() == "localhost"


#: A ``Host`` header as RFC 9110 section 7.2 allows it: a name, IPv4 or bracketed IPv6
#: address, then an optional port. Anything else (``127.0.0.1:80@evil.example``, spaces,
#: user info) names no host this server can vouch for.
_HOST = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]*)(:[0-9]{0,5})?")

#: ``Sec-Fetch-Site`` values (Fetch Metadata, W3C) of requests a page on another origin made.
FOREIGN_FETCH_SITES = ("cross-site", "same-site")


def host_name(host_header: str) -> str:
    """The name in a ``Host`` header without its port (``[::1]:80`` -> ``::1``); ``""`` for
    a header that is not a host and optional port."""
    if not _HOST.fullmatch(host_header):
        return ""
    if host_header.startswith("["):
        return host_header[1:host_header.find("]")].lower()
    return host_header.rsplit(":", 1)[0].lower()


def foreign_write(method: str, headers: Headers) -> bool:
    """Whether a write came from a page of another origin: its ``Origin`` is not this
    server's ``Host``, or (a browser that sent no ``Origin``) its ``Sec-Fetch-Site`` says
    another site made it. Clients that are not browsers send neither and are let through
    (the token, when one is set, still applies)."""
    if method in ("GET", "HEAD"):
        return False
    origins = headers.getlist("origin")
    host = headers.get("host", "").lower()
    if len(origins) > 1 or any(urlsplit(o).netloc.lower() != host for o in origins):
        return True  # two Origin headers: no browser sends them, so nobody may rely on one
    sites = [site.strip().lower() for line in headers.getlist("sec-fetch-site")
             for site in line.split(",")]
    return len(sites) > 1 or any(site in FOREIGN_FETCH_SITES for site in sites)


class SecurityHeaders:
    """``no-store``, ``nosniff`` and a strict content security policy on every answer.

    The policy allows scripts and styles from this server only: an agent-written string
    that slipped through escaping still could not run (defence in depth)."""

    CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
           "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.lower() != b"server"]
                headers += [(b"cache-control", b"no-store"),
                            (b"x-content-type-options", b"nosniff"),
                            (b"referrer-policy", b"no-referrer"),
                            (b"content-security-policy", self.CSP.encode())]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, stamped)


def matches_any(routes: Sequence[BaseRoute], scope: Scope) -> bool:
    """Whether ``scope``'s path is one of ``routes`` (any method)."""
    return any(route.matches(scope)[0] != Match.NONE for route in routes)


class RequestLimits:
    """Refuse requests that are malformed or too big: 414, 505, 431, 400, 413, 411.

    ``signed``: routes that authenticate each request themselves (webhooks, by signature)
    and may take bodies up to :data:`MAX_SIGNED_BODY`."""

    def __init__(self, app: ASGIApp, signed: Sequence[BaseRoute] = ()) -> None:
        self.app = app
        self.signed = tuple(signed)

    def refusal(self, scope: Scope) -> Response | None:
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        if len(raw_path) + len(scope.get("query_string", b"")) > MAX_PATH:
            return json_error(HTTPStatus.REQUEST_URI_TOO_LONG,
                              f"path longer than {MAX_PATH} bytes")
        if scope.get("http_version") not in ("1.0", "1.1"):
            return json_error(HTTPStatus.HTTP_VERSION_NOT_SUPPORTED, "HTTP/1.0 or 1.1 only")
        if len(scope["headers"]) > MAX_HEADERS:
            return json_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
                              f"more than {MAX_HEADERS} header lines")
        if sum(len(k) + len(v) for k, v in scope["headers"]) > MAX_HEAD_BYTES:
            # h11 enforces this only on a head that arrives in pieces.
            return json_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
                              f"headers longer than {MAX_HEAD_BYTES} bytes")
        path: str = scope["path"]
        if not path.startswith("/") or "\x00" in path:
            return json_error(HTTPStatus.BAD_REQUEST, "malformed request path")
        if scope["method"].encode() in _BODY_METHODS:
            headers = Headers(scope=scope)
            if "transfer-encoding" in headers:
                return json_error(HTTPStatus.LENGTH_REQUIRED, "send a Content-Length",
                                  {"Connection": "close"})
            limit = MAX_SIGNED_BODY if matches_any(self.signed, scope) else MAX_BODY
            length = headers.get("content-length", "0")
            if not length.isdigit() or int(length) > limit:
                return json_error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                                  f"bodies are limited to {limit} bytes",
                                  {"Connection": "close"})
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        refusal = self.refusal(scope) if scope["type"] == "http" else None
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)


class TrustedClient:
    """Refuse foreign Host names on a loopback bind, cross-origin writes, missing tokens.

    On a loopback listener the Host must be a loopback name (a DNS-rebinding page carries
    its own host name; a Host that is not a name and optional port is refused too). A write
    must come from this server's own pages: its Origin, or else its ``Sec-Fetch-Site``,
    names no other site (:func:`foreign_write`). With a ``token``
    (required off loopback), every request shows it: ``Authorization: Bearer TOKEN``, or
    the ``SameSite=Strict`` cookie a browser gets by opening any page once with
    ``?token=TOKEN``. ``signed`` routes (webhooks) are let through: their callers are
    services behind proxies that check each delivery's signature instead.
    """

    def __init__(self, app: ASGIApp, loopback: bool, token: str | None,
                 signed: Sequence[BaseRoute] = ()) -> None:
        self.app = app
        self.loopback = loopback
        self.token = token
        self.signed = tuple(signed)

    def _has_token(self, headers: Headers) -> bool:
        assert self.token is not None
        bearer = headers.get("authorization", "")
        cookies = dict(part.strip().partition("=")[::2]
                       for part in headers.get("cookie", "").split(";") if "=" in part)
        offered = bearer.removeprefix("Bearer ").strip() if bearer.startswith("Bearer ") else (
            cookies.get(TOKEN_COOKIE, ""))
        return hmac.compare_digest(offered.encode(), self.token.encode())

    def refusal(self, scope: Scope) -> Response | None:
        headers = Headers(scope=scope)
        host = headers.get("host", "")
        if self.loopback and host_name(host) not in LOOPBACK_NAMES:
            return json_error(HTTPStatus.FORBIDDEN,
                              "this server answers loopback host names only")
        if foreign_write(scope["method"], headers):
            return json_error(HTTPStatus.FORBIDDEN, "cross-origin requests are refused")
        if self.token is None or self._has_token(headers):
            return None
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        offered = (query.get("token") or [""])[0]
        if scope["method"] == "GET" and hmac.compare_digest(offered.encode(),
                                                            self.token.encode()):
            # Trade the token in the address for a cookie, and drop it from the address bar.
            # One leading slash: "//host" would send the browser to another site.
            response = RedirectResponse("/" + scope["path"].lstrip("/"), status_code=303)
            response.set_cookie(TOKEN_COOKIE, self.token, httponly=True, samesite="strict")
            return response
        return json_error(HTTPStatus.UNAUTHORIZED, "this server needs its token: "
                          "Authorization: Bearer TOKEN, or open a page with ?token=TOKEN",
                          {"WWW-Authenticate": "Bearer"})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        refusal = None
        if scope["type"] == "http" and not matches_any(self.signed, scope):
            refusal = self.refusal(scope)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)
