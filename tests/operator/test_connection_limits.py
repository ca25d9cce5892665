"""The operator server bounds what connections take of the daemon: no more than
``MAX_CONNECTIONS`` open at once, and a connection that never sends a request is closed
(a thousand idle ones used to exhaust the daemon's descriptors and end it)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from maestro.config.service import ServiceConfig
from maestro.operator import protocol
from maestro.operator.http import OperatorServer
from tests.operator.conftest import fetch


def serve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, head_timeout_s: float
          ) -> OperatorServer:
    monkeypatch.setattr(protocol, "MAX_CONNECTIONS", 8)
    monkeypatch.setattr(protocol, "HEAD_TIMEOUT_S", head_timeout_s)
    served = OperatorServer(ServiceConfig().resolved(tmp_path), "127.0.0.1:0")
    served.start()
    return served


@pytest.fixture
def patient(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[OperatorServer]:
    """A server that waits a minute for a request head: only the limit closes anything."""
    served = serve(tmp_path, monkeypatch, 60.0)
    yield served
    served.stop()


@pytest.fixture
def hasty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[OperatorServer]:
    served = serve(tmp_path, monkeypatch, 0.5)
    yield served
    served.stop()


def closed_by_the_server(sock: socket.socket) -> bool:
    """Whether the server closed ``sock`` (reading gives end of file) within 10 s."""
    sock.settimeout(10)
    try:
        return sock.recv(1) == b""
    except (TimeoutError, ConnectionResetError):
        return False


def test_a_connection_past_the_limit_is_closed_at_once(patient: OperatorServer) -> None:
    held = [socket.create_connection(patient.address) for _ in range(8)]
    extra = socket.create_connection(patient.address)
    try:
        assert closed_by_the_server(extra)
    finally:
        for sock in [*held, extra]:
            sock.close()


def test_a_request_head_that_never_ends_is_closed_and_the_server_serves_on(
        hasty: OperatorServer) -> None:
    slow = [socket.create_connection(hasty.address) for _ in range(8)]
    try:
        for sock in slow:
            sock.sendall(b"GET /api/v1/state HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        assert all(closed_by_the_server(sock) for sock in slow)
    finally:
        for sock in slow:
            sock.close()
    assert fetch(hasty, "GET", "/api/v1/state")[0] == 200
