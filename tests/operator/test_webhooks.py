"""``POST /webhooks/github`` and ``/webhooks/linear`` on a real uvicorn: a verified delivery
queues a tick naming its issues; a forged, missing or stale signature is refused and
journaled; an event no tick cares about is ignored."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from maestro.config.service import ServiceConfig
from maestro.fsutil import read_json, read_jsonl, write_json
from maestro.observability.telemetry import Telemetry
from maestro.operator.webhooks import webhook_routes
from maestro.orchestration.refresh import request_path
from tests.operator.uvicorn_server import serving

GITHUB_SECRET = "gh-hook-secret"
LINEAR_SECRET = "lin-hook-secret"


@dataclass
class Hooks:
    config: ServiceConfig
    client: httpx.Client
    recorder: Telemetry

    def github(self, event: str, payload: Any, secret: str | None = GITHUB_SECRET,
               **headers: str) -> httpx.Response:
        body = json.dumps(payload).encode()
        sent = {"X-GitHub-Event": event, "X-GitHub-Delivery": "d-1",
                "Content-Type": "application/json", **headers}
        if secret is not None:
            sent["X-Hub-Signature-256"] = "sha256=" + sign(secret, body)
        return self.client.post("/webhooks/github", content=body, headers=sent)

    def linear(self, payload: Any, secret: str | None = LINEAR_SECRET) -> httpx.Response:
        body = json.dumps(payload).encode()
        sent = {"Content-Type": "application/json", "Linear-Delivery": "l-1"}
        if secret is not None:
            sent["Linear-Signature"] = sign(secret, body)
        return self.client.post("/webhooks/linear", content=body, headers=sent)

    def request(self) -> Any:
        return read_json(request_path(self.config.state_root))

    def journal(self, event: str) -> list[dict[str, Any]]:
        records = read_jsonl(self.config.state_root / "logs" / "maestro.jsonl")
        return [r for r in records if r.get("event") == event]


def sign(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def linear_issue(identifier: str, signed_at_s: float | None = None) -> dict[str, Any]:
    stamp = time.time() if signed_at_s is None else signed_at_s
    return {"type": "Issue", "action": "update", "data": {"identifier": identifier},
            "webhookTimestamp": int(stamp * 1000)}


@pytest.fixture
def hooks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Hooks]:
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", GITHUB_SECRET)
    monkeypatch.setenv("LINEAR_WEBHOOK_SECRET", LINEAR_SECRET)
    config = ServiceConfig().resolved(tmp_path)
    # a lane in review: its PR is #41 on the default lane branch
    write_json(config.lanes_root / "MAE-9" / "pr.json", {"number": 41})
    recorder = Telemetry()
    with serving(webhook_routes(config, recorder)) as url, httpx.Client(base_url=url) as client:
        yield Hooks(config, client, recorder)


def test_a_signed_github_event_queues_a_tick_naming_its_lane(hooks: Hooks) -> None:
    response = hooks.github("pull_request", {
        "action": "closed", "pull_request": {"number": 41, "head": {"ref": "maestro/mae-9"}}})
    assert response.status_code == 202
    assert response.json()["issues"] == ["MAE-9"]
    assert hooks.request()["issues"] == ["MAE-9"]
    assert hooks.request()["sources"] == ["github"]
    assert hooks.journal("webhook_received")[0]["what"] == "pull_request.closed"


@pytest.mark.parametrize("secret", ["not-the-secret", None], ids=["forged", "missing"])
def test_a_github_delivery_without_our_signature_is_refused_and_journaled(
        hooks: Hooks, secret: str | None) -> None:
    response = hooks.github("issues", {"action": "opened", "issue": {"number": 1}}, secret)
    assert response.status_code == 401
    assert hooks.request() is None
    refused = hooks.journal("webhook_refused")
    assert [(r["provider"], r["status"], r["delivery"]) for r in refused] == [
        ("github", 401, "d-1")]
    assert hooks.recorder.snapshot().webhooks == {("github", "refused"): 1}


def test_a_signed_linear_event_queues_a_tick_naming_its_issue(hooks: Hooks) -> None:
    response = hooks.linear(linear_issue("ENG-12"))
    assert (response.status_code, response.json()["issues"]) == (202, ["ENG-12"])
    assert hooks.request()["issues"] == ["ENG-12"]


@pytest.mark.parametrize(("payload", "secret", "reason"), [
    (linear_issue("ENG-12"), "not-the-secret", "does not match"),
    (linear_issue("ENG-12"), None, "no Linear-Signature header"),
    (linear_issue("ENG-12", signed_at_s=time.time() - 3600), LINEAR_SECRET, "replay"),
], ids=["forged", "missing", "replayed"])
def test_a_linear_delivery_that_is_forged_or_replayed_is_refused(
        hooks: Hooks, payload: Any, secret: str | None, reason: str) -> None:
    response = hooks.linear(payload, secret)
    assert response.status_code == 401
    assert reason in response.json()["error"]["message"]
    assert hooks.request() is None
    assert reason in hooks.journal("webhook_refused")[0]["reason"]


def test_deliveries_before_a_tick_merge_into_one_request(hooks: Hooks) -> None:
    first = hooks.linear(linear_issue("ENG-1")).json()
    second = hooks.github("check_suite", {"action": "completed", "check_suite": {
        "head_branch": "maestro/mae-9", "pull_requests": []}}).json()
    assert (first["coalesced"], second["coalesced"]) == (False, True)
    assert hooks.request()["issues"] == ["ENG-1", "MAE-9"]
    assert hooks.request()["sources"] == ["linear", "github"]


@pytest.mark.parametrize("event", ["star", "ping"])
def test_a_github_event_no_tick_cares_about_is_ignored(hooks: Hooks, event: str) -> None:
    response = hooks.github(event, {"action": "created", "zen": "Keep it logically awesome."})
    assert response.status_code == 202
    assert response.json() == {"ignored": True, "event": f"{event}.created"}
    assert hooks.request() is None


def test_a_linear_event_no_tick_cares_about_is_ignored(hooks: Hooks) -> None:
    payload = {"type": "Cycle", "action": "update", "data": {},
               "webhookTimestamp": int(time.time() * 1000)}
    assert hooks.linear(payload).json() == {"ignored": True, "event": "Cycle.update"}
    assert hooks.request() is None


def test_a_body_over_the_bound_is_refused_unread(hooks: Hooks) -> None:
    limit = hooks.config.webhooks.max_body_bytes
    response = hooks.github("issues", {"padding": "x" * limit})
    assert response.status_code == 413
    assert hooks.journal("webhook_refused")[0]["status"] == 413


def test_a_signed_body_that_is_not_json_is_a_bad_request(hooks: Hooks) -> None:
    body = b"<xml/>"
    response = hooks.client.post("/webhooks/github", content=body, headers={
        "X-GitHub-Event": "issues", "X-Hub-Signature-256": "sha256=" + sign(GITHUB_SECRET, body)})
    assert response.status_code == 400


def test_a_form_encoded_github_delivery_is_read(hooks: Hooks) -> None:
    payload = json.dumps({"action": "closed", "pull_request": {"number": 41}})
    body = httpx.QueryParams({"payload": payload}).__str__().encode()
    response = hooks.client.post("/webhooks/github", content=body, headers={
        "X-GitHub-Event": "pull_request", "Content-Type": "application/x-www-form-urlencoded",
        "X-Hub-Signature-256": "sha256=" + sign(GITHUB_SECRET, body)})
    assert (response.status_code, response.json()["issues"]) == (202, ["MAE-9"])


def test_an_endpoint_without_its_secret_refuses_everything(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LINEAR_WEBHOOK_SECRET", raising=False)
    config = ServiceConfig().resolved(tmp_path)
    with serving(webhook_routes(config, Telemetry())) as url:
        body = json.dumps(linear_issue("ENG-1")).encode()
        response = httpx.post(url + "/webhooks/linear", content=body,
                              headers={"Linear-Signature": sign("", body)})
    assert response.status_code == 503
    assert "LINEAR_WEBHOOK_SECRET" in response.json()["error"]["message"]
    assert read_json(request_path(config.state_root)) is None


def test_a_get_on_a_webhook_is_405(hooks: Hooks) -> None:
    assert hooks.client.get("/webhooks/github").status_code == 405


def test_a_fresh_timestamp_header_does_not_revive_a_replayed_linear_body(hooks: Hooks) -> None:
    body = json.dumps(linear_issue("ENG-12", signed_at_s=time.time() - 3600)).encode()
    response = hooks.client.post("/webhooks/linear", content=body, headers={
        "Linear-Signature": sign(LINEAR_SECRET, body),
        "Linear-Timestamp": str(int(time.time() * 1000))})
    assert response.status_code == 401
    assert hooks.request() is None
