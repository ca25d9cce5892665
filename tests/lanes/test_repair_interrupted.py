"""maestro asked to stop (SIGTERM) during a review repair round: the lane is interrupted
and the round runs again next time, as after a kill; a stop is never the round's failure
(no needs-attention label, no failure comment, the issue stays In Review: breaker 20)."""

from __future__ import annotations

import json
import signal
import subprocess
import time

import pytest

from tests.conftest import Sandbox
from tests.lanes.repair_round import in_repair_round

pytestmark = pytest.mark.slow

REPAIR = """
repair:
  - hang:
"""


def stopped_in_repair(sandbox: Sandbox, identifier: str) -> subprocess.CompletedProcess[str]:
    lane = in_repair_round(sandbox, identifier, REPAIR)
    time.sleep(1.0)  # into the agent's session
    lane.send_signal(signal.SIGTERM)
    out, err = lane.communicate(timeout=60)
    return subprocess.CompletedProcess(lane.args, lane.returncode, out, err)


def test_a_stop_during_a_repair_round_interrupts_the_lane(sandbox: Sandbox) -> None:
    ended = stopped_in_repair(sandbox, "RI-1")
    assert ended.returncode == 0, ended.stderr
    assert sandbox.outcome("RI-1") == "interrupted"


def test_a_stop_during_a_repair_round_is_no_failure_a_person_must_clear(
        sandbox: Sandbox) -> None:
    stopped_in_repair(sandbox, "RI-2")
    issue = sandbox.issue("RI-2")
    assert issue.state == "In Review"
    assert not issue.has_label("maestro:needs-attention")
    assert not any("needs a human" in c.body for c in sandbox.comments("RI-2"))
    assert not (sandbox.repo / ".maestro" / "lanes" / "RI-2" / "attention.json").exists()


def test_the_next_tick_runs_the_interrupted_repair_round_again(sandbox: Sandbox) -> None:
    stopped_in_repair(sandbox, "RI-3")
    plan = json.loads(sandbox.maestro("plan", "--json", check=True).stdout)
    assert [(d["issue"], d["reason"]) for d in plan["dispatch"]] == [
        ("RI-3", "advance review (review_repair)")]
