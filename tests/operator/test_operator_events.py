"""``GET /events``: a live page hears that its lane changed, over a real loopback socket."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from maestro.config.service import ServiceConfig
from maestro.operator import sse
from maestro.operator.http import OperatorServer


@pytest.fixture
def config(tmp_path: Path) -> ServiceConfig:
    config = ServiceConfig().resolved(tmp_path)
    for lane in ("A-1", "B-1"):
        (config.lanes_root / lane).mkdir(parents=True)
    return config


@pytest.fixture
def server(config: ServiceConfig) -> Iterator[OperatorServer]:
    server = OperatorServer(config, "127.0.0.1:0")
    server.start()
    yield server
    server.stop()


class Stream:
    """An open ``/events`` response read one event at a time (bounded by the socket
    timeout: a missing event fails the test instead of hanging it)."""

    def __init__(self, server: OperatorServer, query: str = "") -> None:
        host, port = server.address
        self.conn = http.client.HTTPConnection(host, port, timeout=10)
        self.conn.request("GET", "/events" + query)
        self.response = self.conn.getresponse()
        assert self.response.status == 200
        assert self.response.headers["Content-Type"].startswith("text/event-stream")

    def next(self) -> tuple[str, dict[str, object]]:
        event, data = "", ""
        while True:
            line = self.response.fp.readline().decode().rstrip("\r\n")
            if line.startswith("event:"):
                event = line.partition(":")[2].strip()
            elif line.startswith("data:"):
                data = line.partition(":")[2].strip()
            elif not line and event:
                return event, json.loads(data)

    def close(self) -> None:
        self.conn.close()


def test_a_lane_change_reaches_the_page_as_an_event(server: OperatorServer,
                                                    config: ServiceConfig) -> None:
    stream = Stream(server)
    try:
        assert stream.next()[0] == "hello"
        (config.lanes_root / "A-1" / "activity.json").write_text("{}")
        event, data = stream.next()
        assert (event, data["lanes"]) == ("change", ["A-1"])
    finally:
        stream.close()


def test_a_lane_page_hears_only_of_its_own_lane(server: OperatorServer,
                                                config: ServiceConfig) -> None:
    stream = Stream(server, "?lane=A-1")
    try:
        stream.next()
        (config.lanes_root / "B-1" / "activity.json").write_text("{}")
        (config.lanes_root / "A-1" / "outcome.json").write_text("{}")
        event, data = stream.next()
        assert event == "change" and "A-1" in data["lanes"]  # no event for B-1 alone
    finally:
        stream.close()


def test_stopping_the_server_ends_open_streams(config: ServiceConfig) -> None:
    server = OperatorServer(config, "127.0.0.1:0")
    server.start()
    stream = Stream(server)
    stream.next()
    server.stop()
    assert server._thread is not None and not server._thread.is_alive()
    stream.close()


def test_no_more_event_streams_than_the_cap_are_held_open(
        server: OperatorServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """An idle stream is held as long as its client wants: past the cap a new one is 503,
    so idle streams cannot take every connection the operator's requests need."""
    monkeypatch.setattr(sse, "MAX_EVENT_STREAMS", 3)
    held = [Stream(server) for _ in range(3)]
    try:
        for stream in held:
            assert stream.next()[0] == "hello"
        host, port = server.address
        extra = http.client.HTTPConnection(host, port, timeout=10)
        extra.request("GET", "/events")
        refused = extra.getresponse()
        assert refused.status == 503
        assert json.loads(refused.read())["error"]["code"] == "service_unavailable"
        extra.close()
    finally:
        for stream in held:
            stream.close()
