"""``GET /api/v1/state`` answered before the router (maestro/operator/state_route.py) is the
router's answer: the same headers, the guards before it, a route given for it first; and
the server's connections send answers at once (maestro/operator/protocol.py)."""

from __future__ import annotations

import asyncio
import socket
import threading
from pathlib import Path
from typing import Any

import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from maestro.config.service import ServiceConfig
from maestro.operator.http import OperatorServer
from maestro.operator.protocol import send_at_once
from maestro.orchestration import tick_priority
from tests.operator.conftest import fetch


def test_the_state_answer_has_the_headers_of_the_routers_answer(
        demo_server: OperatorServer) -> None:
    """``HEAD`` still goes through the route table: its headers are the reference."""
    status, quick, body = fetch(demo_server, "GET", "/api/v1/state")
    assert status == 200
    _, routed, _ = fetch(demo_server, "HEAD", "/api/v1/state")
    assert int(quick["Content-Length"]) == len(body)
    assert quick["Content-Type"] == "application/json; charset=utf-8"
    assert ({k.lower(): v for k, v in quick.items() if k.lower() != "date"}
            == {k.lower(): v for k, v in routed.items() if k.lower() != "date"})


def test_a_foreign_host_is_refused_before_the_state_answer(
        demo_server: OperatorServer) -> None:
    status, headers, _ = fetch(demo_server, "GET", "/api/v1/state", {"Host": "evil.example"})
    assert (status, headers["X-Content-Type-Options"]) == (403, "nosniff")


async def _mine(request: Request) -> Response:
    return PlainTextResponse("mine")


def test_a_route_given_for_the_state_path_is_the_one_that_answers(tmp_path: Path) -> None:
    server = OperatorServer(ServiceConfig().resolved(tmp_path), "127.0.0.1:0",
                            extra_routes=[Route("/api/v1/state", _mine, methods=["GET"])])
    server.start()
    try:
        assert fetch(server, "GET", "/api/v1/state")[2] == b"mine"
    finally:
        server.stop()


def test_while_a_tick_plans_the_state_is_read_off_the_event_loop(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An unchanged document is answered on the loop, except while the tick plans: then a
    worker thread's hand-offs let the tick have the interpreter first."""
    server = OperatorServer(ServiceConfig().resolved(tmp_path), "127.0.0.1:0")
    server.start()
    try:
        cache = server.app.state.status
        fetch(server, "GET", "/api/v1/state")  # the first look reads
        readers: list[threading.Thread] = []
        full_look = cache.state_body

        def recorded(limit: int) -> bytes:
            readers.append(threading.current_thread())
            return bytes(full_look(limit))

        monkeypatch.setattr(cache, "state_body", recorded)
        assert fetch(server, "GET", "/api/v1/state")[0] == 200
        assert readers == []
        with tick_priority.planning():
            assert fetch(server, "GET", "/api/v1/state")[0] == 200
        assert len(readers) == 1
        assert readers[0].name != "maestro-operator-http"
    finally:
        server.stop()


def test_the_servers_connections_send_small_answers_at_once() -> None:
    """Nagle's algorithm off: a small body is not held back until the client acknowledges
    the head (uvicorn writes them apart; the client may wait 40 ms to acknowledge)."""
    with socket.create_server(("127.0.0.1", 0)) as listener, \
            socket.create_connection(listener.getsockname()[:2]):
        accepted, _ = listener.accept()
        with accepted:
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0

            class Transport(asyncio.BaseTransport):
                def get_extra_info(self, name: str, default: Any = None) -> Any:
                    return accepted if name == "socket" else default

            send_at_once(Transport())
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
