"""A full disk ends an agent session at once with a clear reason, never an idle-timeout
wait (issue 13). The disk itself is the one thing faked: a journal whose write raises
``ENOSPC`` as the kernel would."""

from __future__ import annotations

import asyncio
import errno
import os
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from maestro.agents.appserver import AppServerClient, RecordingFailed
from maestro.fsutil import BoundedJournal
from tests.conftest import Sandbox

AGENT = """
import json, sys, time
for line in sys.stdin:
    msg = json.loads(line)
    sys.stdout.write(json.dumps({"id": msg["id"], "result": {"turn": {"id": "t1"}}}) + "\\n")
    sys.stdout.write(json.dumps({"method": "turn/started", "params": {}}) + "\\n")
    sys.stdout.flush()
    time.sleep(60)
"""


def no_space(*args: Any, **kwargs: Any) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_an_event_that_cannot_be_journaled_ends_the_turn_at_once(tmp_path: Path) -> None:
    async def no_requests(method: str, params: dict[str, Any]) -> dict[str, Any]:
        return {}

    def on_event(method: str, params: dict[str, Any]) -> None:
        no_space()

    client = AppServerClient([sys.executable, "-c", textwrap.dedent(AGENT)], tmp_path,
                             dict(os.environ), on_event, no_requests)

    async def run() -> Any:
        await client.start()
        try:
            await client.request("turn/start", {})
            # The idle timeout is far beyond the test's patience (the guard turns a hang into
            # a failure): only the disk error can end the turn.
            return await asyncio.wait_for(
                client.wait_turn("t1", idle_timeout=3600, turn_timeout=3600), 120)
        finally:
            await client.close(grace=0.2)

    with pytest.raises(RecordingFailed, match="No space left on device"):
        asyncio.run(run())


def test_a_full_disk_during_the_agent_phase_fails_the_attempt_with_the_reason(
        sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    from maestro.pipeline import run_lane

    sandbox.add_issue("FD-1")
    monkeypatch.chdir(sandbox.repo)
    monkeypatch.setattr(BoundedJournal, "write", no_space)
    config = sandbox.config
    config.agent.idle_timeout_s = 3600  # only the disk error can end the session
    outcome = run_lane(config, "FD-1", ["--reporter", "zero"])
    assert outcome["outcome"] == "retry"
    assert outcome["error_class"] == "recording_failed"
    assert "No space left on device" in outcome["reason"]
    result = sandbox.lane_file("FD-1", "result.json")
    assert result["disposition"] == "failed" and result["attempt"] == 1
