"""A person cancelling an issue in the tracker closes its lane's open PR, whatever the lane
was doing: working after its agent opened the PR (before the handoff), or waiting on a
person (breaker 22). The closing comment names the person's move."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from maestro.forges.local import LocalForge
from maestro.model import PullRequest, PullState
from maestro.orchestration.orchestrator import Orchestrator
from tests.conftest import Sandbox

pytestmark = pytest.mark.slow

OPENS_THEN_WORKS = """
steps:
  - write: {path: a.txt, content: "a\\n"}
  - commit: "a"
  - open_pr: {title: "a"}
  - hang:
"""
OPENS_THEN_ASKS = """
steps:
  - write: {path: a.txt, content: "a\\n"}
  - commit: "a"
  - open_pr: {title: "a"}
  - attention: "a maintainer must decide"
"""


def lane_pr(sandbox: Sandbox, identifier: str) -> PullRequest | None:
    return LocalForge(sandbox.repo, "origin").find_pr(f"maestro/{identifier.lower()}")


def closing_comments(pr: PullRequest) -> list[str]:
    return [str(c.get("body")) for c in pr.extra.get("comments") or []]


def test_a_cancel_after_the_agent_opened_its_pr_closes_it(sandbox: Sandbox) -> None:
    sandbox.add_issue("TC-1", script=OPENS_THEN_WORKS)
    lane = subprocess.Popen([sys.executable, "-m", "maestro", "lane", "TC-1", "--quiet"],
                            cwd=sandbox.repo, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=dict(os.environ))
    deadline = time.monotonic() + 90
    while lane_pr(sandbox, "TC-1") is None:
        assert time.monotonic() < deadline and lane.poll() is None
        time.sleep(0.2)
    sandbox.tracker.transition("TC-1", "Canceled")
    orchestrator = Orchestrator(sandbox.config)
    orchestrator.tick()  # stops the live lane
    lane.wait(timeout=60)
    orchestrator.tick()  # finishes the cancel
    pr = lane_pr(sandbox, "TC-1")
    assert pr is not None and pr.state == PullState.CLOSED
    assert any("Canceled in the tracker" in body for body in closing_comments(pr))
    assert sandbox.outcome("TC-1") == "terminated"


def test_a_cancel_of_a_lane_waiting_on_a_person_closes_its_pr(sandbox: Sandbox) -> None:
    sandbox.add_issue("TC-2", script=OPENS_THEN_ASKS)
    sandbox.lane("TC-2")
    assert sandbox.outcome("TC-2") == "needs_human"
    sandbox.tracker.transition("TC-2", "Canceled")
    Orchestrator(sandbox.config).tick()
    pr = lane_pr(sandbox, "TC-2")
    assert pr is not None and pr.state == PullState.CLOSED
    assert sandbox.issue("TC-2").state == "Canceled"


def test_an_issue_a_person_moved_to_done_keeps_the_pr_its_agent_opened(
        sandbox: Sandbox) -> None:
    sandbox.add_issue("TC-3", script=OPENS_THEN_ASKS)
    sandbox.lane("TC-3")
    sandbox.tracker.transition("TC-3", "Done")
    Orchestrator(sandbox.config).tick()
    pr = lane_pr(sandbox, "TC-3")
    assert pr is not None and pr.state == PullState.OPEN


def test_a_cancel_of_a_lane_in_review_is_logged_as_the_trackers(sandbox: Sandbox) -> None:
    import json

    sandbox.add_issue("TC-4")
    sandbox.lane("TC-4")
    sandbox.tracker.transition("TC-4", "Canceled")
    Orchestrator(sandbox.config).tick()
    log = sandbox.repo / ".maestro" / "logs" / "maestro.jsonl"
    events = [json.loads(line).get("event") for line in log.read_text().splitlines()]
    assert "tracker_cancel" in events and "operator_cancel" not in events


def test_a_lane_that_merged_since_the_tick_read_it_is_not_signalled(sandbox: Sandbox) -> None:
    """Breaker 25 F4: the lane merged and closed its issue between the tick's read of the
    lanes and its read of the issues; the tick then stopped it in its cleanup."""
    from maestro.fsutil import write_json
    from maestro.orchestration.planning import Plan, Reconcile

    folder = sandbox.repo / ".maestro" / "lanes" / "TC-9"
    folder.mkdir(parents=True)
    lane = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        write_json(folder / "holder.json", {"pid": lane.pid, "role": "lane"})
        write_json(folder / "merge.json", {"commit": "0" * 40})
        Orchestrator(sandbox.config).apply_reconcile(Plan(reconciles=(
            Reconcile("TC-9", "terminate", "Done", signal_only=True),)))
        time.sleep(0.2)
        assert lane.poll() is None
    finally:
        lane.kill()
        lane.wait()
