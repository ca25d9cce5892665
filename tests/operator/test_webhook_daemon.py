"""A real ``maestro daemon``, asleep for an hour, ticks as soon as a verified GitHub or
Linear delivery arrives, and its log says which delivery asked and for which issue.

(A forged delivery writes no request at all: ``test_webhooks.py`` shows it where no daemon
can take the file away first.)"""

from __future__ import annotations

import hashlib
import hmac
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from maestro.fsutil import read_json, read_jsonl
from maestro.observability.telemetry import Telemetry
from maestro.operator.webhooks import webhook_routes
from tests.conftest import Sandbox
from tests.operator.uvicorn_server import serving

PATIENCE_S = 60.0
SECRETS = {"GITHUB_WEBHOOK_SECRET": "gh-daemon-secret", "LINEAR_WEBHOOK_SECRET": "lin-secret"}
ATTENTION = "steps:\n  - attention: 'needs a decision'"


def eventually(check: Callable[[], Any]) -> Any:
    """Wait for ``check`` to return something truthy (a bounded wait, not a timing claim)."""
    deadline = time.monotonic() + PATIENCE_S
    while not (value := check()):
        if time.monotonic() > deadline:
            raise AssertionError("condition never held")
        time.sleep(0.05)
    return value


def sign(variable: str, body: bytes) -> str:
    return hmac.new(SECRETS[variable].encode(), body, hashlib.sha256).hexdigest()


class Daemon:
    def __init__(self, sandbox: Sandbox, client: httpx.Client) -> None:
        self.sandbox, self.client = sandbox, client
        self.state = sandbox.repo / ".maestro"

    def dispatched(self) -> list[str]:
        plan = (read_json(self.state / "last_tick.json") or {}).get("plan") or {}
        return [item["issue"] for item in plan.get("dispatch", [])]

    def requests_logged(self) -> list[dict[str, Any]]:
        return [r for r in read_jsonl(self.state / "logs" / "maestro.jsonl")
                if r.get("event") == "refresh_requested"]


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    sandbox = Sandbox(tmp_path_factory.mktemp("webhook-daemon") / "sandbox")
    for path in (sandbox.repo / "issues").glob("DEMO-*.md"):
        path.unlink()
    proc = subprocess.Popen([sys.executable, "-m", "maestro", "daemon", "--poll-interval-s",
                             "3600"], cwd=sandbox.repo, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        eventually(lambda: (sandbox.repo / ".maestro" / "last_tick.json").exists())
        with pytest.MonkeyPatch.context() as env:
            for name, value in SECRETS.items():
                env.setenv(name, value)
            routes = webhook_routes(sandbox.config, Telemetry())
        with serving(routes) as url, httpx.Client(base_url=url) as client:
            yield Daemon(sandbox, client)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)


def test_a_signed_github_delivery_makes_the_sleeping_daemon_tick(daemon: Daemon) -> None:
    daemon.sandbox.add_issue("DEMO-7", script=ATTENTION)
    body = json.dumps({"action": "opened", "issue": {"number": 7}}).encode()
    response = daemon.client.post("/webhooks/github", content=body, headers={
        "X-GitHub-Event": "issues", "Content-Type": "application/json",
        "X-Hub-Signature-256": "sha256=" + sign("GITHUB_WEBHOOK_SECRET", body)})
    assert response.status_code == 202
    eventually(lambda: "DEMO-7" in daemon.dispatched())
    assert any(r["sources"] == ["github"] for r in daemon.requests_logged())


def test_a_signed_linear_delivery_ticks_for_the_issue_it_names(daemon: Daemon) -> None:
    daemon.sandbox.add_issue("DEMO-8", script=ATTENTION)
    body = json.dumps({"type": "Issue", "action": "create", "data": {"identifier": "DEMO-8"},
                       "webhookTimestamp": int(time.time() * 1000)}).encode()
    response = daemon.client.post("/webhooks/linear", content=body, headers={
        "Content-Type": "application/json",
        "Linear-Signature": sign("LINEAR_WEBHOOK_SECRET", body)})
    assert response.status_code == 202
    eventually(lambda: "DEMO-8" in daemon.dispatched())
    assert any(r["issues"] == ["DEMO-8"] and r["sources"] == ["linear"]
               for r in daemon.requests_logged())

