"""Every route of the operator HTTP surface, over a real loopback socket."""

from __future__ import annotations

import http.client
import json
import socket
from typing import Any

import pytest
from starlette.datastructures import Headers

from maestro.config.service import ServiceConfig
from maestro.operator.guards import foreign_write, host_name
from maestro.operator.http import OperatorServer, parse_listen_address
from tests.operator.conftest import fetch


def json_of(server: OperatorServer, method: str, path: str) -> tuple[int, Any]:
    status, headers, body = fetch(server, method, path)
    assert headers["Content-Type"].startswith("application/json")
    return status, json.loads(body)


def test_state_serves_the_status_snapshot(demo_server: OperatorServer) -> None:
    status, snap = json_of(demo_server, "GET", "/state")
    assert status == 200
    assert snap["schema_version"] == 1
    assert {lane["issue"] for lane in snap["lanes"]} == {"DEMO-1", "DEMO-2", "DEMO-3", "DEMO-4"}


def test_api_state_is_the_same_document_as_state(demo_server: OperatorServer) -> None:
    _, plain = json_of(demo_server, "GET", "/state")
    status, api = json_of(demo_server, "GET", "/api/v1/state")
    assert status == 200
    plain.pop("generated_at")
    api.pop("generated_at")
    assert api == plain


def test_issue_route_returns_that_lane(demo_server: OperatorServer) -> None:
    status, body = json_of(demo_server, "GET", "/api/v1/DEMO-2")
    assert status == 200
    assert body["lane"]["issue"] == "DEMO-2"
    assert body["lane"]["needs_human"]["error_class"] == "manual_attention"


def test_unknown_issue_is_a_json_404(demo_server: OperatorServer) -> None:
    status, body = json_of(demo_server, "GET", "/api/v1/DEMO-99")
    assert status == 404
    assert body["error"]["code"] == "issue_not_found"  # Symphony SPEC §13.7.2
    assert "DEMO-99" in body["error"]["message"]


@pytest.mark.parametrize("path", ["/api/v1/..%2F..%2Fetc%2Fpasswd", "/api/v1/a%00b",
                                  "/api/v1/-x", "/api/v1/a/b"])
def test_bad_issue_identifiers_are_a_json_400(demo_server: OperatorServer, path: str) -> None:
    status, body = json_of(demo_server, "GET", path)
    assert status == 400
    assert body["error"]["code"] == "bad_request"


def test_unknown_route_is_a_json_404(demo_server: OperatorServer) -> None:
    status, body = json_of(demo_server, "GET", "/etc/passwd")
    assert status == 404
    assert body["error"]["code"] == "not_found"


def test_huge_path_is_refused_with_414(demo_server: OperatorServer) -> None:
    status, body = json_of(demo_server, "GET", "/" + "a" * 5000)
    assert status == 414
    assert body["error"]["code"] == "request_uri_too_long"


def test_refresh_is_accepted_and_writes_the_daemon_flag(
        demo_server: OperatorServer, finished_demo: ServiceConfig) -> None:
    status, body = json_of(demo_server, "POST", "/api/v1/refresh")
    assert status == 202
    assert body["queued"] is True
    assert (finished_demo.state_root / "refresh.request").is_file()


def test_refresh_requests_before_a_tick_coalesce(demo_server: OperatorServer) -> None:
    first = json_of(demo_server, "POST", "/api/v1/refresh")[1]
    second = json_of(demo_server, "POST", "/api/v1/refresh")[1]
    assert (first["coalesced"], second["coalesced"]) == (False, True)


def test_get_on_refresh_is_405(demo_server: OperatorServer) -> None:
    status, headers, _ = fetch(demo_server, "GET", "/api/v1/refresh")
    assert status == 405
    assert headers["Allow"] == "POST"


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "BREW"])
def test_other_methods_are_a_json_405(demo_server: OperatorServer, method: str) -> None:
    status, body = json_of(demo_server, method, "/state")
    assert status == 405
    assert body["error"]["code"] == "method_not_allowed"


def test_post_to_a_read_only_route_is_405(demo_server: OperatorServer) -> None:
    status, _ = json_of(demo_server, "POST", "/api/v1/state")
    assert status == 405


def test_dashboard_is_html(demo_server: OperatorServer) -> None:
    status, headers, body = fetch(demo_server, "GET", "/")
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    assert b"api/v1/state" in body


def test_head_sends_headers_without_a_body(demo_server: OperatorServer) -> None:
    status, headers, body = fetch(demo_server, "HEAD", "/state")
    assert status == 200
    assert int(headers["Content-Length"]) > 0
    assert body == b""


def test_garbage_request_line_gets_a_clean_400(demo_server: OperatorServer) -> None:
    with socket.create_connection(demo_server.address, timeout=10) as sock:
        sock.sendall(b"NOT A VALID REQUEST LINE AT ALL\r\n\r\n")
        reply = sock.recv(65536)
    assert reply.startswith(b"HTTP/1.1 400") or reply.startswith(b"HTTP/1.0 400")


def test_listen_address_defaults_to_loopback() -> None:
    assert parse_listen_address("8900") == ("127.0.0.1", 8900)
    assert parse_listen_address("[::1]:8900") == ("::1", 8900)


def test_a_foreign_host_name_is_refused_on_loopback(demo_server: OperatorServer) -> None:
    host, port = demo_server.address
    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        conn.request("GET", "/state", headers={"Host": f"attacker.example:{port}"})
        response = conn.getresponse()
        assert response.status == 403
        assert json.loads(response.read())["error"]["code"] == "forbidden"
    finally:
        conn.close()


def test_a_cross_origin_refresh_is_refused(demo_server: OperatorServer,
                                           finished_demo: ServiceConfig) -> None:
    status, _, _ = fetch(demo_server, "POST", "/api/v1/refresh",
                         headers={"Origin": "http://attacker.example"})
    assert status == 403
    assert not (finished_demo.state_root / "refresh.request").exists()


def test_a_host_with_a_loopback_prefix_but_another_name_is_refused(
        demo_server: OperatorServer) -> None:
    port = demo_server.address[1]
    status, _, _ = fetch(demo_server, "GET", "/state",
                         headers={"Host": f"127.0.0.1:{port}@attacker.example"})
    assert status == 403


def test_a_write_a_browser_marks_as_cross_site_is_refused_without_an_origin(
        demo_server: OperatorServer, finished_demo: ServiceConfig) -> None:
    status, _, _ = fetch(demo_server, "POST", "/api/v1/refresh",
                         headers={"Sec-Fetch-Site": "cross-site"})
    assert status == 403
    assert not (finished_demo.state_root / "refresh.request").exists()


@pytest.mark.parametrize(("header", "name"), [
    ("127.0.0.1:8900", "127.0.0.1"),
    ("localhost", "localhost"),
    ("[::1]:8900", "::1"),
    ("127.0.0.1:8900@attacker.example", ""),
    ("127.0.0.1 evil", ""),
    ("user@127.0.0.1", ""),
])
def test_host_names_are_read_from_well_formed_headers_only(header: str, name: str) -> None:
    assert host_name(header) == name


@pytest.mark.parametrize(("method", "headers", "foreign"), [
    ("POST", {"host": "127.0.0.1:1"}, False),
    ("POST", {"host": "127.0.0.1:1", "origin": "http://127.0.0.1:1"}, False),
    ("POST", {"host": "127.0.0.1:1", "origin": "http://127.0.0.1:2"}, True),
    ("POST", {"host": "127.0.0.1:1", "origin": "null"}, True),
    ("POST", {"host": "127.0.0.1:1", "sec-fetch-site": "same-origin"}, False),
    ("POST", {"host": "127.0.0.1:1", "sec-fetch-site": "none"}, False),
    ("POST", {"host": "127.0.0.1:1", "sec-fetch-site": "same-site"}, True),
    ("POST", {"host": "127.0.0.1:1", "sec-fetch-site": "cross-site"}, True),
    ("GET", {"host": "127.0.0.1:1", "sec-fetch-site": "cross-site"}, False),
    ("POST", [("host", "127.0.0.1:1"), ("origin", "http://127.0.0.1:1"),
              ("origin", "http://attacker.example")], True),
    ("POST", [("host", "127.0.0.1:1"), ("sec-fetch-site", "same-origin"),
              ("sec-fetch-site", "cross-site")], True),
    ("POST", {"host": "127.0.0.1:1", "sec-fetch-site": "same-origin, cross-site"}, True),
])
def test_writes_from_other_origins_are_recognised(
        method: str, headers: dict[str, str] | list[tuple[str, str]], foreign: bool) -> None:
    raw = list(headers.items()) if isinstance(headers, dict) else headers
    scope = {"type": "http", "headers": [(k.encode(), v.encode()) for k, v in raw]}
    assert foreign_write(method, Headers(scope=scope)) is foreign


def test_state_has_symphonys_baseline_fields(demo_server: OperatorServer) -> None:
    status, snap = json_of(demo_server, "GET", "/api/v1/state")
    assert status == 200
    assert snap["counts"]["running"] == len(snap["running"]) == 0
    assert snap["counts"]["retrying"] == len(snap["retrying"])
    totals = snap["codex_totals"]
    assert totals["total_tokens"] == snap["token_totals"]["totalTokens"] > 0
    assert totals["seconds_running"] > 0
    assert "rate_limits" in snap


def test_issue_route_has_symphonys_issue_shape(demo_server: OperatorServer) -> None:
    _, body = json_of(demo_server, "GET", "/api/v1/DEMO-2")
    assert (body["issue_identifier"], body["status"]) == ("DEMO-2", "needs_human")
    assert body["attempts"] == {"restart_count": 0, "current_retry_attempt": None}
    assert body["last_error"] and body["recent_events"][-1]["event"] == "halt"
    assert body["logs"]["codex_session_logs"][0]["path"].endswith("journal.jsonl")


def test_refresh_names_its_operations(demo_server: OperatorServer) -> None:
    _, body = json_of(demo_server, "POST", "/api/v1/refresh")
    assert body["operations"] == ["poll", "reconcile"]
