"""``AppServerClient`` against tiny stand-in agents: framing, ordering and failure classes.

Each stand-in is a few lines of Python run as a real child process, written to show one
behaviour of the wire that a real agent may exhibit.
"""

from __future__ import annotations

import asyncio
import os
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from maestro.agents.appserver import (
    AppServerClient,
    MalformedLine,
    ProcessExited,
    ResponseTimeout,
    RpcError,
    StartupError,
    TurnTimeout,
)

PRELUDE = """
import json, sys, time
def send(obj):
    sys.stdout.write(json.dumps(obj) + "\\n"); sys.stdout.flush()
def requests():
    for line in sys.stdin:
        yield json.loads(line)
"""


class Recorder:
    def __init__(self) -> None:
        self.events: list[str] = []
        self.stderr: list[str] = []

    def on_event(self, method: str, params: dict[str, Any]) -> None:
        self.events.append(method)

    async def on_request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        return {"answered": method}


def client_for(body: str, tmp_path: Path, recorder: Recorder,
               response_timeout: float = 10.0) -> AppServerClient:
    code = PRELUDE + textwrap.dedent(body)
    return AppServerClient([sys.executable, "-c", code], tmp_path, dict(os.environ),
                           recorder.on_event, recorder.on_request, recorder.stderr.append,
                           response_timeout=response_timeout)


async def with_client(client: AppServerClient, action: Any) -> Any:
    await client.start()
    try:
        return await action(client)
    finally:
        await client.close(grace=0.2)  # stand-ins that sleep are killed without a long wait


def test_notifications_before_the_response_do_not_confuse_it(tmp_path: Path) -> None:
    recorder = Recorder()
    client = client_for("""
        for msg in requests():
            send({"method": "configWarning", "params": {"summary": "no bubblewrap"}})
            send({"method": "remoteControl/status/changed", "params": {}})
            send({"id": msg["id"], "result": {"userAgent": "stand-in"}})
        """, tmp_path, recorder)
    result = asyncio.run(with_client(client, lambda c: c.request("initialize", {})))
    assert result == {"userAgent": "stand-in"}
    assert recorder.events == ["configWarning", "remoteControl/status/changed"]


def test_a_line_split_across_writes_is_buffered_until_its_newline(tmp_path: Path) -> None:
    recorder = Recorder()
    client = client_for("""
        for msg in requests():
            line = json.dumps({"id": msg["id"], "result": {"ok": True}})
            sys.stdout.write(line[:7]); sys.stdout.flush(); time.sleep(0.2)
            sys.stdout.write(line[7:] + "\\n"); sys.stdout.flush()
        """, tmp_path, recorder)
    assert asyncio.run(with_client(client, lambda c: c.request("x", {}))) == {"ok": True}


def test_turn_completed_before_anyone_waits_is_kept(tmp_path: Path) -> None:
    recorder = Recorder()
    client = client_for("""
        for msg in requests():
            send({"method": "turn/completed", "params": {"turn": {"id": "t1",
                  "status": "completed"}}})
            send({"id": msg["id"], "result": {"turn": {"id": "t1"}}})
        """, tmp_path, recorder)

    async def action(c: AppServerClient) -> Any:
        await c.request("turn/start", {})
        return await c.wait_turn("t1", idle_timeout=5, turn_timeout=5)

    assert asyncio.run(with_client(client, action))["turn"]["status"] == "completed"


def test_server_request_is_answered_through_on_request(tmp_path: Path) -> None:
    recorder = Recorder()
    client = client_for("""
        for msg in requests():
            if "method" in msg:
                send({"id": 77, "method": "item/tool/call", "params": {"tool": "x"}})
                reply = next(requests())
                send({"id": msg["id"], "result": {"reply": reply}})
        """, tmp_path, recorder)
    result = asyncio.run(with_client(client, lambda c: c.request("go", {})))
    assert result == {"reply": {"id": 77, "result": {"answered": "item/tool/call"}}}


def test_stderr_is_passed_on_and_never_parsed(tmp_path: Path) -> None:
    recorder = Recorder()
    client = client_for("""
        sys.stderr.write("not json at all\\n"); sys.stderr.flush()
        for msg in requests():
            send({"id": msg["id"], "result": {}})
        """, tmp_path, recorder)
    asyncio.run(with_client(client, lambda c: c.request("x", {})))
    assert recorder.stderr == ["not json at all"]


def test_error_response_raises_rpc_error(tmp_path: Path) -> None:
    client = client_for("""
        for msg in requests():
            send({"id": msg["id"], "error": {"code": -32600, "message": "bad tool name"}})
        """, tmp_path, Recorder())
    with pytest.raises(RpcError, match="bad tool name"):
        asyncio.run(with_client(client, lambda c: c.request("thread/start", {})))


def test_silence_raises_response_timeout(tmp_path: Path) -> None:
    client = client_for("time.sleep(30)", tmp_path, Recorder(), response_timeout=0.5)
    with pytest.raises(ResponseTimeout):
        asyncio.run(with_client(client, lambda c: c.request("initialize", {})))


def test_exit_while_waiting_raises_process_exited(tmp_path: Path) -> None:
    client = client_for("sys.stdin.readline(); sys.exit(3)", tmp_path, Recorder())
    with pytest.raises(ProcessExited, match="code 3"):
        asyncio.run(with_client(client, lambda c: c.request("initialize", {})))


def test_non_json_line_raises_malformed_line(tmp_path: Path) -> None:
    client = client_for("""
        sys.stdin.readline(); print("hello there", flush=True); time.sleep(30)
        """, tmp_path, Recorder())
    with pytest.raises(MalformedLine, match="hello there"):
        asyncio.run(with_client(client, lambda c: c.request("initialize", {})))


def test_missing_command_raises_startup_error(tmp_path: Path) -> None:
    client = AppServerClient([str(tmp_path / "no-such-agent")], tmp_path, {},
                             Recorder().on_event, Recorder().on_request)
    with pytest.raises(StartupError):
        asyncio.run(client.start())


def test_busy_but_endless_turn_raises_turn_timeout(tmp_path: Path) -> None:
    client = client_for("""
        for msg in requests():
            send({"id": msg["id"], "result": {"turn": {"id": "t1"}}})
            while True:
                send({"method": "item/agentMessage/delta", "params": {"delta": "."}})
                time.sleep(0.05)
        """, tmp_path, Recorder())

    async def action(c: AppServerClient) -> Any:
        await c.request("turn/start", {})
        return await c.wait_turn("t1", idle_timeout=5, turn_timeout=0.5)

    with pytest.raises(TurnTimeout):
        asyncio.run(with_client(client, action))
