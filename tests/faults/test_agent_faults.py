"""The agent child misbehaves: it crashes, hangs, floods the pipe or writes garbage.

Each row runs the real lane with the scripted agent (a separate process speaking the
app-server protocol) and checks the outcome the lane reports, that the failure is recorded
with its class, and that nothing the agent already did is lost or repeated.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from maestro.lanes.record import comments
from tests.agents.helpers import configure_service
from tests.faults.matrix import FaultBox, deliver_script, matrix

WORK = """
  - write: {path: feature.txt, content: "feature\\n"}
  - commit: "add feature"
"""


def runs_by_kind(box: FaultBox, identifier: str) -> Counter[str]:
    blocks = comments.blocks(box.comments(identifier))
    assert all(n == 1 for n in Counter((b["kind"], b["run_id"]) for b in blocks).values())
    return Counter(b["kind"] for b in blocks)


@matrix("agent", "agent child crashes (exit 17) mid-turn in attempt 1",
        "attempt fails `process_exited`, retried; attempt 2 delivers; one PR, one merge")
def test_agent_crash_is_retried_and_the_next_attempt_delivers(faultbox: FaultBox) -> None:
    codes = deliver_script(faultbox, "AG-1", "steps:" + WORK +
                           "  - crash: {attempts: [1]}\n  - handoff: done\n")
    assert codes[0] == 1
    first = faultbox.lane_file("AG-1", "attempts/0001/result.json")
    assert (first["error_class"], first["retryable"]) == ("process_exited", True)
    assert runs_by_kind(faultbox, "AG-1") == {"start": 2, "completion": 1, "closeout": 1}
    assert faultbox.origin_file("feature.txt") == "feature\n"


@matrix("agent", "agent child hangs (no protocol activity)",
        "attempt `stalled` after the idle timeout; child killed; needs a human, no silent "
        "retry; the rerun does not start the agent again")
def test_agent_hang_stalls_to_a_human_without_retry(faultbox: FaultBox) -> None:
    configure_service(faultbox.repo, agent={"idle_timeout_s": 1.5})
    faultbox.add_issue("AG-2", script="steps:" + WORK + "  - hang\n")
    first = faultbox.lane("AG-2")
    assert first.returncode == 1 and "Traceback" not in first.stderr
    assert faultbox.outcome("AG-2") == "needs_human"
    assert faultbox.lane_file("AG-2", "attention.json")["error_class"] == "stalled"
    issue = faultbox.issue("AG-2")
    assert issue.state == "Todo" and "maestro:needs-attention" in issue.labels
    again = faultbox.lane("AG-2")
    assert again.returncode == 1
    assert runs_by_kind(faultbox, "AG-2") == {"start": 1, "failure": 1}


@matrix("agent", "agent floods 20 000 notifications in one turn",
        "all consumed; the turn completes and the lane hands off normally")
def test_agent_flood_is_consumed_and_the_lane_hands_off(faultbox: FaultBox) -> None:
    faultbox.add_issue("AG-3", script="steps:" + WORK + "  - flood: 20000\n  - handoff: done\n")
    proc = faultbox.lane("AG-3")
    assert proc.returncode == 0, proc.stderr
    assert faultbox.outcome("AG-3") == "waiting"
    assert faultbox.lane_file("AG-3", "activity.json")["event_count"] >= 20_000


@matrix("agent", "agent writes a line that is not JSON",
        "attempt fails `malformed_line` (retryable); retry queued; no traceback")
def test_agent_garbage_fails_the_attempt_as_malformed_line(faultbox: FaultBox) -> None:
    faultbox.add_issue("AG-4", script="steps:" + WORK + "  - garbage\n  - hang\n")
    proc = faultbox.lane("AG-4")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr + proc.stdout
    assert faultbox.outcome("AG-4") == "retry"
    result = faultbox.lane_file("AG-4", "result.json")
    assert (result["error_class"], result["retryable"]) == ("malformed_line", True)


@matrix("review ⟲ repair", "agent child crashes during the repair round",
        "needs a human (`process_exited`); PR left open and unmerged; nothing pushed")
def test_agent_crash_during_repair_stops_for_a_human(faultbox: FaultBox) -> None:
    faultbox.add_issue("AG-5", script="steps:" + WORK + "  - handoff: done\nrepair:\n"
                                      "  - append: {path: feature.txt, content: x}\n"
                                      "  - crash\n")
    faultbox.lane("AG-5")
    assert faultbox.outcome("AG-5") == "waiting"
    faultbox.maestro("review", "request-changes", "AG-5", "--comment", "more", check=True)
    proc = faultbox.lane("AG-5")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert faultbox.outcome("AG-5") == "needs_human"
    assert faultbox.lane_file("AG-5", "attention.json")["error_class"] == "process_exited"
    record: dict[str, Any] = faultbox.lane_file("AG-5", "pr.json")
    assert record["repair_rounds"] == 0 and "pending_repair" not in record
    assert faultbox.origin_log()[0] != "Merge pull request"
    assert faultbox.origin_file("feature.txt") is None
