"""A person's cancel is never lost: ``maestro cancel`` killed with SIGKILL at a random moment
after it stopped the lane is finished by whoever comes next (the poll loop's tick, the
lane's next start, or the command run again), and no PR is opened for the cancelled work.

Each trial runs a real lane (its agent in a long step), a real ``maestro cancel``, and
kills the command a random time after the lane process ended (the SIGTERM the cancel sent
is what ends it), drawn from a seeded generator whose seed is in the test's id: the span is
the window in which the command used to have stopped the lane but not yet moved the issue
(about 0.1 s here; the whole command takes some 2.5 s, most of it before the SIGTERM). The
last trial then re-runs the cancel, which must find nothing left to do.
"""

from __future__ import annotations

import random
import subprocess
import sys
import time

import pytest

from maestro.lanes.cancel import INTENT
from tests.conftest import Sandbox

AGENT_WORKS = """
steps:
  - write: {path: a.txt, content: "a\\n"}
  - commit: "a"
  - sleep: 8
  - handoff: "done"
"""
#: Kill delays after the lane's exit are drawn from [0, KILL_SPAN_S).
KILL_SPAN_S = 0.1


def maestro(sandbox: Sandbox, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "maestro", *args], cwd=sandbox.repo,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def cancel_killed_after_the_lane_stopped(sandbox: Sandbox, delay_s: float) -> None:
    """Run the lane, cancel it, SIGKILL the cancel ``delay_s`` after the lane ended."""
    sandbox.add_issue("DEMO-1", AGENT_WORKS)
    lane = maestro(sandbox, "lane", "DEMO-1", "--quiet")
    journal = sandbox.repo / ".maestro" / "lanes" / "DEMO-1" / "journal.jsonl"
    for _ in range(1200):  # until the agent's session is under way
        if (journal.exists() and "turn/started" in journal.read_text()) or (
                lane.poll() is not None):
            break
        time.sleep(0.05)
    cancel = maestro(sandbox, "cancel", "DEMO-1")
    try:
        lane.wait(timeout=120)
        time.sleep(delay_s)
    finally:
        cancel.kill()
        cancel.communicate()
        lane.kill()
        lane.wait()


@pytest.mark.parametrize(("seed", "finisher"), [
    (11, ["run", "--once"]),
    (12, ["lane", "DEMO-1", "--quiet"]),
    (13, ["run", "--once"]),
])
def test_a_cancel_killed_after_it_stopped_the_lane_is_finished_by_whoever_comes_next(
        sandbox: Sandbox, seed: int, finisher: list[str]) -> None:
    cancel_killed_after_the_lane_stopped(sandbox, random.Random(seed).uniform(0, KILL_SPAN_S))
    assert (sandbox.repo / ".maestro" / "lanes" / "DEMO-1" / INTENT).exists()
    sandbox.maestro(*finisher)
    assert sandbox.issue("DEMO-1").state == "Canceled"
    assert sandbox.lane_file("DEMO-1", "pr.json") is None  # no PR for cancelled work
    assert sandbox.lane_file("DEMO-1", "cleanup.json")["reason"] == "cancelled"
    again = sandbox.maestro("cancel", "DEMO-1", check=True).stdout
    assert "nothing to do" in again  # idempotent: a second run finds it finished
