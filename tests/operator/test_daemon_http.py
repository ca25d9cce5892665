"""`maestro daemon` with `[operator_http]` serves the API, and a refresh makes it tick."""

from __future__ import annotations

import http.client
import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

POLL = 0.1
PATIENCE_S = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def eventually(check: Callable[[], Any]) -> Any:
    """Wait for ``check`` to return something truthy (a bounded wait, not a timing claim)."""
    deadline = time.monotonic() + PATIENCE_S
    while True:
        try:
            value = check()
        except OSError:
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition never held")
        time.sleep(POLL)


def call(port: int, method: str, path: str) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path)
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


@pytest.fixture
def daemon(sandbox: Any) -> Iterator[tuple[Any, int]]:
    port = free_port()
    config = sandbox.repo / "maestro.toml"
    config.write_text(config.read_text()
                      + f'\n[operator_http]\nlisten_address = "127.0.0.1:{port}"\n')
    proc = subprocess.Popen([sys.executable, "-m", "maestro", "daemon", "--poll-interval-s",
                             "3600"], cwd=sandbox.repo, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        eventually(lambda: call(port, "GET", "/state")[0] == 200)
        yield sandbox, port
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)


def test_daemon_serves_the_state_when_configured(daemon: tuple[Any, int]) -> None:
    _, port = daemon
    status, snap = call(port, "GET", "/api/v1/state")
    assert status == 200
    assert snap["schema_version"] == 1


def test_refresh_makes_the_sleeping_daemon_tick(daemon: tuple[Any, int]) -> None:
    sandbox, port = daemon
    last_tick = sandbox.repo / ".maestro" / "last_tick.json"
    first = eventually(lambda: last_tick.stat().st_mtime_ns)
    sandbox.add_issue("DEMO-7", script="steps:\n  - attention: 'needs a decision'")
    status, body = call(port, "POST", "/api/v1/refresh")
    assert (status, body["queued"]) == (202, True)
    eventually(lambda: last_tick.stat().st_mtime_ns != first)
    eventually(lambda: call(port, "GET", "/api/v1/DEMO-7")[0] == 200)


def test_port_flag_starts_the_server_without_config(sandbox: Any) -> None:
    """Symphony's ``--port`` (SPEC §13.7) serves on loopback with no ``[operator_http]``."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "maestro", "daemon", "--poll-interval-s",
                             "3600", "--port", str(port)], cwd=sandbox.repo,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        status, snap = eventually(lambda: call(port, "GET", "/api/v1/state"))
        assert status == 200 and "codex_totals" in snap
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
