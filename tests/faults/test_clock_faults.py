"""The wall clock jumps (an NTP step, a VM resumed, a runner with a skewed clock).

Nothing maestro must do exactly once may depend on the clock going forward: retries must
fire no later than their own backoff, and a resumed run must recognise its own comment.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from maestro.ids import utc_now
from maestro.orchestration.retries import RetryQueue, backoff_seconds
from tests.faults.matrix import RESUMED, FaultBox, matrix
from tests.test_resume import SCRIPT, assert_delivered_once, drive_to_end


@matrix("agent", "clock steps back 1 h after the claim; kill -9 after a comment, before "
        "its tool record (`tool:issue_comment`)", RESUMED)
def test_a_resumed_run_recognises_its_comment_after_the_clock_stepped_back(
        faultbox: FaultBox) -> None:
    faultbox.add_issue("CLK-1", script=SCRIPT)
    faultbox.env["MAESTRO_TEST_CLOCK_SHIFT_S"] = "-3600"
    killed = faultbox.lane("CLK-1", env={"MAESTRO_FAULT_KILL": "tool:issue_comment",
                                         "MAESTRO_TEST_CLOCK_SHIFT_FROM_PHASE": "agent"})
    assert killed.returncode == -9
    drive_to_end(faultbox, "CLK-1", {}, request_changes=True)  # type: ignore[arg-type]
    assert_delivered_once(faultbox, "CLK-1")  # type: ignore[arg-type]


@matrix("retry queue", "clock steps back 1 h while a retry waits",
        "the retry fires no later than its own backoff (10 s), not an hour late")
def test_a_retry_is_not_delayed_by_a_clock_stepping_back(tmp_path: Path) -> None:
    queue = RetryQueue(tmp_path)
    before = utc_now()
    queue.schedule("CLK-2", 1, "failure", "process_exited", 300_000, now=before)
    retry = queue.load()["CLK-2"]
    after_jump = before - timedelta(hours=1)
    wait = timedelta(seconds=backoff_seconds(1, "failure", 300_000))
    assert retry.due(after_jump + wait + timedelta(seconds=1))


@matrix("retry queue", "clock steps forward 1 h while a retry waits",
        "the retry is due at once (early, never lost)")
def test_a_retry_fires_when_the_clock_steps_forward(tmp_path: Path) -> None:
    queue = RetryQueue(tmp_path)
    now = utc_now()
    queue.schedule("CLK-3", 2, "failure", "process_exited", 300_000, now=now)
    assert queue.load()["CLK-3"].due(now + timedelta(hours=1))
