"""``GET /api/v1/state`` answered before the router (maestro/operator/state_route.py) is the
router's answer: the same headers, the guards before it, a route given for it first."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from maestro.config.service import ServiceConfig
from maestro.operator.http import OperatorServer
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
