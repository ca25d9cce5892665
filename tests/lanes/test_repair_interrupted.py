"""maestro asked to stop (SIGTERM) during a review repair round: the lane is interrupted
and the round runs again next time, as after a kill; a stop is never the round's failure
(no needs-attention label, no failure comment, the issue stays In Review: breaker 20)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import Sandbox

pytestmark = pytest.mark.slow

SCRIPT = """
steps:
  - write: {path: feature.txt, content: "feature\\n"}
  - commit: "add feature"
  - handoff: "feature added"
repair:
  - hang:
"""


def repair_started(sandbox: Sandbox, identifier: str) -> bool:
    journal = sandbox.repo / ".maestro" / "lanes" / identifier / "journal.jsonl"
    if not journal.exists():
        return False
    events = [json.loads(line).get("event") for line in journal.read_text().splitlines()
              if line.strip()]
    return "repair_started" in events


def stopped_in_repair(sandbox: Sandbox, identifier: str) -> subprocess.CompletedProcess[str]:
    sandbox.add_issue(identifier, script=SCRIPT)
    sandbox.lane(identifier)
    sandbox.maestro("review", "request-changes", identifier, "--comment", "rename it",
                    check=True)
    lane = subprocess.Popen([sys.executable, "-m", "maestro", "lane", identifier, "--quiet"],
                            cwd=sandbox.repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=dict(os.environ))
    deadline = time.monotonic() + 60
    while not repair_started(sandbox, identifier) and time.monotonic() < deadline:
        time.sleep(0.1)
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
