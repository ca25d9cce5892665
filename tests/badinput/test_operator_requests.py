"""Hostile HTTP requests to the operator API: each gets its status with a JSON error body,
the server keeps serving, and nothing is written but the refresh flag in the state root.

``corpus/http/<status>-<case>.http`` holds the raw bytes sent on a fresh connection; the
file name says the status the server must answer with. Oversized requests are generated.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from maestro.config.service import ServiceConfig
from maestro.operator.http import OperatorServer

CORPUS = Path(__file__).with_name("corpus") / "http"
HOST = b"Host: 127.0.0.1\r\n"
GENERATED = {
    "414-huge-path": b"GET /" + b"a" * 600 + b" HTTP/1.1\r\n" + HOST + b"\r\n",
    "431-huge-header": b"GET /state HTTP/1.1\r\n" + HOST + b"X-Big: " + b"b" * 70_000
                       + b"\r\n\r\n",
    "431-too-many-headers": b"GET /state HTTP/1.1\r\n" + HOST
                            + b"".join(b"X-%d: 1\r\n" % i for i in range(150)) + b"\r\n",
}


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("operator-hostile")


@pytest.fixture(scope="module")
def server(root: Path) -> Iterator[OperatorServer]:
    server = OperatorServer(ServiceConfig().resolved(root), "127.0.0.1:0")
    server.start()
    yield server
    server.stop()


def exchange(server: OperatorServer, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes, read the whole answer; returns status, headers and body."""
    with socket.create_connection(server.address, timeout=10) as sock:
        sock.sendall(raw)
        sock.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)}
    return int(status_line.split()[1]), headers, body


def cases() -> dict[str, bytes]:
    files = {p.stem: p.read_bytes() for p in sorted(CORPUS.glob("*.http"))}
    return {**files, **GENERATED}


@pytest.mark.parametrize("case", sorted(cases()))
def test_hostile_request_gets_its_status_and_a_json_error(server: OperatorServer,
                                                           case: str) -> None:
    status, headers, body = exchange(server, cases()[case])
    assert status == int(case.split("-", 1)[0])
    assert headers["content-type"].startswith("application/json")
    assert "set-cookie" not in headers
    error = json.loads(body)["error"]
    assert error["code"] and error["message"]
    assert "Traceback" not in body.decode()


def test_the_server_still_serves_after_the_whole_corpus(server: OperatorServer) -> None:
    for raw in cases().values():
        exchange(server, raw)
    status, _, body = exchange(server, b"GET /api/v1/state HTTP/1.1\r\n" + HOST +
                               b"Connection: close\r\n\r\n")
    assert status == 200
    assert json.loads(body)["schema_version"]


def test_hostile_requests_write_nothing_but_the_state_root(server: OperatorServer,
                                                          root: Path) -> None:
    for raw in cases().values():
        exchange(server, raw)
    written = {str(p.relative_to(root)) for p in root.rglob("*")}
    assert written <= {".maestro", ".maestro/refresh.request"}
