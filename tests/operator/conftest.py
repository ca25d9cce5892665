"""Fixtures for the operator surface: one finished demo shared by the read-only tests, and
a plain loopback HTTP client (real sockets, like an operator's browser)."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from maestro.config.service import ServiceConfig, parse_config_file
from maestro.operator.http import OperatorServer
from maestro.scaffold.demo import run_demo


@pytest.fixture(scope="package")
def finished_demo(tmp_path_factory: pytest.TempPathFactory) -> ServiceConfig:
    """The config of a demo run to its end: finished, attention and reviewed lanes."""
    result = run_demo(tmp_path_factory.mktemp("operator") / "demo", echo=False)
    return parse_config_file(result.repo / "maestro.toml")


@pytest.fixture
def demo_server(finished_demo: ServiceConfig) -> Iterator[OperatorServer]:
    """The operator server on an ephemeral loopback port over the finished demo."""
    server = OperatorServer(finished_demo, "127.0.0.1:0")
    server.start()
    yield server
    server.stop()
    (finished_demo.state_root / "refresh.request").unlink(missing_ok=True)


def fetch(server: OperatorServer, method: str, path: str, headers: dict[str, str] | None = None,
          body: bytes | None = None) -> tuple[int, http.client.HTTPMessage, bytes]:
    """One request on a fresh loopback connection: status, headers (any case), body."""
    host, port = server.address
    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


@contextmanager
def kept_folder(config: ServiceConfig, name: str) -> Iterator[Path]:
    """An empty folder ``name`` in the workspace root for the block (the finished demo is
    shared by the package's tests: it goes again after)."""
    folder = config.workspace_root / name
    folder.mkdir(parents=True)
    try:
        yield folder
    finally:
        folder.rmdir()
