"""The tick's reconcile covers lanes waiting in review: a person's decision wins.

A person who adds ``maestro:needs-attention`` to an approved lane holds it (never merged
while the label stays); one who cancels the issue sends the lane down its cancel path (PR
closed, lane terminated), never to a merge.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys

from tests.conftest import Sandbox

ATTENTION = "maestro:needs-attention"


def tick(sandbox: Sandbox) -> dict[str, object]:
    out = sandbox.maestro("run", "--once", "--json", check=True).stdout
    return dict(json.loads(out))


def pr_states(sandbox: Sandbox) -> list[str]:
    folder = sandbox.origin / "maestro-forge" / "pulls"
    return [json.loads(path.read_text())["state"] for path in sorted(folder.glob("*.json"))]


def in_review(sandbox: Sandbox, identifier: str) -> None:
    sandbox.add_issue(identifier)
    tick(sandbox)
    assert sandbox.issue(identifier).state == "In Review"


def test_approved_lane_with_the_attention_label_is_held_not_merged(sandbox: Sandbox) -> None:
    in_review(sandbox, "RR-1")
    sandbox.approve("RR-1")
    sandbox.tracker.add_label("RR-1", ATTENTION)

    plan = tick(sandbox)

    assert plan["dispatch"] == []
    assert "held" in str(plan["waiting"])
    assert sandbox.issue("RR-1").state == "In Review"
    assert pr_states(sandbox) == ["open"]


def test_lane_in_review_whose_issue_is_cancelled_is_closed_not_merged(
        sandbox: Sandbox) -> None:
    in_review(sandbox, "RR-2")
    sandbox.approve("RR-2")
    sandbox.tracker.transition("RR-2", "Canceled")

    tick(sandbox)

    assert pr_states(sandbox) == ["closed"]
    assert sandbox.outcome("RR-2") == "terminated"
    assert sandbox.issue("RR-2").state == "Canceled"


def hold_lane(sandbox: Sandbox, identifier: str) -> subprocess.Popen[str]:
    """A live process holding the lane's lease, as a lane process in repair or land does."""
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\n"
        "from maestro.lanes.record.state import LaneState\n"
        "from pathlib import Path\n"
        "state = LaneState(Path(sys.argv[1]), sys.argv[2])\nstate.acquire()\n"
        "print('held', flush=True)\n"
        "time.sleep(120)\n"), str(sandbox.repo / ".maestro" / "lanes"), identifier],
        stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder


def test_live_lane_in_review_is_stopped_when_its_issue_is_cancelled(sandbox: Sandbox) -> None:
    in_review(sandbox, "RR-3")
    sandbox.approve("RR-3")
    holder = hold_lane(sandbox, "RR-3")
    sandbox.tracker.transition("RR-3", "Canceled")
    try:
        plan = tick(sandbox)
        assert holder.wait(timeout=60) == -signal.SIGTERM
    finally:
        holder.kill()
    assert plan["reconcile"] == [{"issue": "RR-3", "action": "terminate", "state": "Canceled"}]
    # Stopping is all the reconcile did: the lane's own cancel path closes the PR next.
    assert pr_states(sandbox) == ["open"]

    tick(sandbox)

    assert pr_states(sandbox) == ["closed"]
    assert sandbox.outcome("RR-3") == "terminated"
