"""A lane the daemon stops because a person moved its issue says so, and resumes when the
issue comes back to a state it works in, In Review included (breaker 22).

The daemon's reconcile stops a live lane with SIGTERM; the lane halts ``interrupted`` on the
signal alone (``signalled`` in ``outcome.json``), since it cannot tell who sent it. The next
tick writes the move as the reason, once. A person then moving the issue to In Review (a
state a working lane works in) gets it resumed, where before it stayed interrupted for good.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from maestro.orchestration.orchestrator import Orchestrator
from tests.conftest import Sandbox

pytestmark = pytest.mark.slow

WORKS = """
steps:
  - write: {path: a.txt, content: "a\\n"}
  - commit: "a"
  - hang:
"""


def stopped_by_the_daemon(sandbox: Sandbox, identifier: str, state: str) -> Orchestrator:
    """Start the lane, let its agent work, move the issue to ``state``, and tick until the
    daemon's reconcile has stopped the lane process."""
    sandbox.add_issue(identifier, script=WORKS)
    lane = subprocess.Popen([sys.executable, "-m", "maestro", "lane", identifier, "--quiet"],
                            cwd=sandbox.repo, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=dict(os.environ))
    deadline = time.monotonic() + 90
    while sandbox.issue(identifier).state != "In Progress" or not (
            sandbox.repo / ".worktrees" / identifier / "a.txt").exists():
        assert time.monotonic() < deadline and lane.poll() is None
        time.sleep(0.2)
    sandbox.tracker.transition(identifier, state)
    orchestrator = Orchestrator(sandbox.config)
    orchestrator.tick()
    lane.wait(timeout=60)
    return orchestrator


def test_a_lane_stopped_for_a_move_to_backlog_names_the_move(sandbox: Sandbox) -> None:
    orchestrator = stopped_by_the_daemon(sandbox, "IM-1", "Backlog")
    assert sandbox.lane_file("IM-1", "outcome.json")["signalled"] is True
    orchestrator.tick()
    record = sandbox.lane_file("IM-1", "outcome.json")
    assert (record["outcome"], record["reason"]) == ("interrupted", "issue moved to Backlog")
    assert (sandbox.repo / ".worktrees" / "IM-1" / "a.txt").exists()


def test_an_interrupted_lane_moved_on_to_in_review_is_resumed(sandbox: Sandbox) -> None:
    orchestrator = stopped_by_the_daemon(sandbox, "IM-2", "Backlog")
    orchestrator.tick()
    sandbox.tracker.transition("IM-2", "In Review")
    plan = orchestrator.plan(dry_run=True).as_dict()
    assert [(d["issue"], d["reason"]) for d in plan["dispatch"]] == [
        ("IM-2", "recover interrupted lane")]
