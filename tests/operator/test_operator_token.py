"""A token, when set, is asked of every request; off loopback the server needs one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from maestro.config.service import ServiceConfig
from maestro.errors import InputError
from maestro.operator.http import OperatorServer
from maestro.operator.listen import operator_token
from tests.operator.conftest import fetch

TOKEN = "s3cret-operator-token-0123"


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[OperatorServer]:
    monkeypatch.setenv("MAESTRO_OPERATOR_TOKEN", TOKEN)
    server = OperatorServer(ServiceConfig().resolved(tmp_path), "127.0.0.1:0")
    server.start()
    yield server
    server.stop()


def test_a_request_without_the_token_is_401(server: OperatorServer) -> None:
    status, headers, _ = fetch(server, "GET", "/api/v1/state")
    assert (status, headers["WWW-Authenticate"]) == (401, "Bearer")


def test_a_wrong_token_is_401(server: OperatorServer) -> None:
    assert fetch(server, "GET", "/", {"Authorization": "Bearer nope"})[0] == 401


def test_the_bearer_token_opens_the_api(server: OperatorServer) -> None:
    assert fetch(server, "GET", "/api/v1/state", {"Authorization": f"Bearer {TOKEN}"})[0] == 200


def test_the_token_in_the_address_becomes_a_strict_cookie(server: OperatorServer) -> None:
    status, headers, _ = fetch(server, "GET", f"//evil.example/?token={TOKEN}")
    assert status == 303
    assert headers["Location"] == "/evil.example/"  # never another site
    cookie = headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert fetch(server, "GET", "/", {"Cookie": cookie.split(";")[0]})[0] == 200


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.7", "::"])
def test_a_listener_off_loopback_needs_a_token(host: str, monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    monkeypatch.delenv("MAESTRO_OPERATOR_TOKEN", raising=False)
    with pytest.raises(InputError, match="MAESTRO_OPERATOR_TOKEN"):
        operator_token(ServiceConfig().resolved(tmp_path), host)


def test_a_short_token_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MAESTRO_OPERATOR_TOKEN", "short")
    with pytest.raises(InputError, match="at least 16"):
        operator_token(ServiceConfig().resolved(tmp_path), "127.0.0.1")


def test_the_token_is_never_passed_to_the_agent(tmp_path: Path) -> None:
    assert "MAESTRO_OPERATOR_TOKEN" in ServiceConfig().resolved(tmp_path).secret_env_vars()


async def _echo(request: Request) -> Response:
    return PlainTextResponse(str(len(await request.body())))


@pytest.fixture
def mounted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[OperatorServer]:
    """A token-guarded server with one signed route (a webhook) and one extra route."""
    monkeypatch.setenv("MAESTRO_OPERATOR_TOKEN", TOKEN)
    server = OperatorServer(ServiceConfig().resolved(tmp_path), "127.0.0.1:0",
                            extra_routes=[Route("/metrics", _echo, methods=["GET"])],
                            signed_routes=[Route("/webhooks/github", _echo, methods=["POST"])])
    server.start()
    yield server
    server.stop()


def test_a_signed_route_is_reached_from_a_proxy_without_the_token(
        mounted: OperatorServer) -> None:
    status, _, body = fetch(mounted, "POST", "/webhooks/github",
                            {"Host": "hooks.example.org"}, body=b"x" * 50_000)
    assert (status, body) == (200, b"50000")


def test_an_extra_route_passes_the_same_guards(mounted: OperatorServer) -> None:
    assert fetch(mounted, "GET", "/metrics")[0] == 401
    assert fetch(mounted, "GET", "/metrics", {"Authorization": f"Bearer {TOKEN}"})[0] == 200
