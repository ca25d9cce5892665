"""`maestro status --json` follows docs/spec/status.schema.json for real snapshots."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from maestro.config.service import ServiceConfig
from maestro.operator.status import SCHEMA_VERSION, snapshot
from maestro.orchestration.retries import RetryQueue
from tests.operator.conftest import kept_folder

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "docs" / "spec" / "status.schema.json"


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def errors(validator: jsonschema.protocols.Validator, snap: dict[str, Any]) -> list[str]:
    plain = json.loads(json.dumps(snap, default=str))
    return [f"{e.json_path}: {e.message}" for e in validator.iter_errors(plain)]


def status_json(config: ServiceConfig, *args: str) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-m", "maestro", "--config", str(config.source),
                           "status", "--json", *args], capture_output=True, text=True,
                          timeout=60, check=True)
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


@pytest.fixture
def held_lane(finished_demo: ServiceConfig) -> Iterator[str]:
    """DEMO-2's lane lock held by another live process, as while a lane runs."""
    lock = finished_demo.lanes_root / "DEMO-2" / "lane.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from filelock import FileLock; "
         f"l = FileLock({str(lock)!r}); l.acquire(); print('held', flush=True); "
         "sys.stdin.read()"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    yield "DEMO-2"
    assert holder.stdin is not None
    holder.stdin.close()
    holder.wait(timeout=30)


def test_schema_version_matches_the_code(validator: jsonschema.protocols.Validator) -> None:
    assert validator.schema["properties"]["schema_version"]["const"] == SCHEMA_VERSION


def test_finished_demo_snapshot_matches_the_schema(
        validator: jsonschema.protocols.Validator, finished_demo: ServiceConfig) -> None:
    assert errors(validator, status_json(finished_demo)) == []


def test_snapshot_with_a_queued_retry_matches_the_schema(
        validator: jsonschema.protocols.Validator, finished_demo: ServiceConfig) -> None:
    queue = RetryQueue(finished_demo.state_root)
    queue.schedule("DEMO-2", 1, "failure", "AgentError", 300_000)
    try:
        snap = snapshot(finished_demo)
    finally:
        queue.release("DEMO-2")
    assert errors(validator, snap) == []
    assert snap["retrying"][0]["issue"] == "DEMO-2"
    lane = next(lane for lane in snap["lanes"] if lane["issue"] == "DEMO-2")
    assert lane["retry"]["kind"] == "failure"


def test_snapshot_while_a_lane_runs_lists_it_as_active(
        validator: jsonschema.protocols.Validator, finished_demo: ServiceConfig,
        held_lane: str) -> None:
    snap = status_json(finished_demo)
    assert errors(validator, snap) == []
    assert [lane["issue"] for lane in snap["active"]] == [held_lane]
    assert snap["active"][0]["idle_seconds"] is not None


def test_needs_human_lanes_say_why(finished_demo: ServiceConfig) -> None:
    snap = snapshot(finished_demo)
    assert [(lane["issue"], lane["needs_human"]["error_class"])
            for lane in snap["needs_human"]] == [("DEMO-2", "manual_attention")]


def test_reviewed_lanes_carry_classification_and_signals(finished_demo: ServiceConfig) -> None:
    lane = next(lane for lane in snapshot(finished_demo)["lanes"] if lane["issue"] == "DEMO-4")
    assert lane["review"]["classification"] == "ready_to_land"
    assert lane["review"]["signals"]["repair_rounds"] == 1


def test_limit_truncates_recent_runs_but_not_lanes(finished_demo: ServiceConfig) -> None:
    snap = status_json(finished_demo, "--limit", "1")
    assert len(snap["recent"]) == 1
    assert len(snap["lanes"]) == 4


def test_token_totals_sum_the_lanes(finished_demo: ServiceConfig) -> None:
    snap = snapshot(finished_demo)
    assert snap["token_totals"]["totalTokens"] == sum(
        lane["tokens"].get("totalTokens", 0) for lane in snap["lanes"])


def test_a_stopped_lane_stands_at_the_phase_it_halted(finished_demo: ServiceConfig) -> None:
    lane = next(lane for lane in snapshot(finished_demo)["lanes"] if lane["issue"] == "DEMO-2")
    assert lane["phase"] == "agent"


def test_snapshot_with_kept_work_matches_the_schema(
        validator: jsonschema.protocols.Validator, finished_demo: ServiceConfig) -> None:
    with kept_folder(finished_demo, "DEMO-2.kept-20261201T000000Z"):
        snap = snapshot(finished_demo)
    assert errors(validator, snap) == []
    assert [item["kind"] for item in snap["kept_work"]] == ["kept"]
