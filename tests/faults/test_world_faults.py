"""The world fails instead of the process: the tracker errors, the forge refuses a push, the
disk fills up. Each row names the outcome the lane reports, and proves nothing is lost:
the lane, run again, ends where the uninterrupted run ends.
"""

from __future__ import annotations

import errno
import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from maestro.fsutil import write_atomic
from maestro.lanes.record import comments
from tests.faults.matrix import FaultBox, Row, deliver, matrix, row, signature
from tests.test_resume import assert_delivered_once

RETRY_RESUMED = "halts `retry` naming the error; the rerun resumes; nothing repeated"


def halts(box: FaultBox, identifier: str) -> list[dict[str, Any]]:
    journal = box.repo / ".maestro" / "lanes" / identifier / "journal.jsonl"
    events = [json.loads(line) for line in journal.read_text().splitlines()]
    return [e for e in events if e.get("event") == "halt"]


# -- tracker errors ---------------------------------------------------------------------------

TRACKER = [
    row("claim", "tracker HTTP 500 (adapter retries spent)", RETRY_RESUMED),
    row("agent", "tracker timeout (adapter retries spent)", RETRY_RESUMED),
    row("handoff", "tracker HTTP 429 (rate limit outlasts the adapter's wait)", RETRY_RESUMED),
    row("review ⟲ repair", "tracker HTTP 500 (adapter retries spent)", RETRY_RESUMED),
    row("closeout", "tracker timeout (adapter retries spent)", RETRY_RESUMED),
]
KIND = {"HTTP 500": "500", "timeout": "timeout", "HTTP 429": "429"}


@pytest.mark.parametrize("matrix_row", TRACKER)
def test_tracker_failure_in_a_phase_halts_for_retry_and_loses_nothing(
        faultbox: FaultBox, uninterrupted: dict[str, Any], matrix_row: Row) -> None:
    phase = matrix_row.phase.split()[0]
    kind = next(v for k, v in KIND.items() if k in matrix_row.fault)
    faultbox.env["MAESTRO_TEST_TRACKER_FAULT"] = f"{phase}:{kind}"
    codes = deliver(faultbox, "RES-1")
    assert faultbox.flag.exists(), "no tracker call was made in that phase"
    assert 1 in codes
    injected = [h for h in halts(faultbox, "RES-1") if "injected" in h["reason"]]
    assert [(h["outcome"], h["phase"]) for h in injected] == [("retry", phase)]
    assert injected[0]["error_class"] in ("TrackerError", "RateLimitedError")
    assert_delivered_once(faultbox, "RES-1")  # type: ignore[arg-type]
    assert signature(faultbox, "RES-1") == uninterrupted


def test_a_repair_comment_that_fails_is_posted_by_the_next_run(
        faultbox: FaultBox, uninterrupted: dict[str, Any]) -> None:
    """Breaker 25 F1: the round was recorded done before its comment, so a comment that
    failed was never posted, and a rebuild from the tracker then took maestro's own
    repair head for a push nobody validated."""
    faultbox.env["MAESTRO_TEST_TRACKER_FAULT"] = "review:500:comment"
    codes = deliver(faultbox, "RES-1")
    assert faultbox.flag.exists(), "no comment was made in the review phase"
    assert 1 in codes
    assert_delivered_once(faultbox, "RES-1")  # type: ignore[arg-type]
    assert signature(faultbox, "RES-1") == uninterrupted


def test_the_agents_own_attention_label_answered_with_an_error_is_still_its_request(
        faultbox: FaultBox) -> None:
    """Breaker 25 F3: the tracker applied the agent's needs-attention label and answered
    with an error; the lane took the label for a person's stop: ``terminated``, the
    agent's question never posted, the issue left In Progress with nobody told."""
    faultbox.env["MAESTRO_TEST_TRACKER_FAULT"] = "agent:after500:add_label"
    faultbox.add_issue("ATT-1", script='steps:\n  - attention: "which notes?"\n')
    faultbox.lane("ATT-1", env=faultbox.env)
    assert faultbox.flag.exists(), "no label was added in the agent phase"
    assert faultbox.outcome("ATT-1") == "needs_human"
    issue = faultbox.issue("ATT-1")
    assert issue.state == "Todo" and "maestro:needs-attention" in issue.labels
    bodies = [c.body for c in faultbox.comments("ATT-1")]
    assert any("which notes?" in body for body in bodies)
    assert [b["kind"] for b in comments.blocks(faultbox.comments("ATT-1"))] == [
        "start", "failure"]


# -- the forge refuses a push ---------------------------------------------------------------


def refuse_first_push_of(origin: Path, subject: str) -> None:
    """A pre-receive hook refusing, once, a push whose new commit has ``subject``."""
    hook = origin / "hooks" / "pre-receive"
    hook.write_text(f"""#!/bin/sh
while read old new ref; do
  if [ "$(git log -1 --format=%s "$new" 2>/dev/null)" = "{subject}" ] \\
     && [ ! -e refused-once ]; then
    touch refused-once
    echo "push refused by policy (injected)" >&2
    exit 1
  fi
done
""")
    hook.chmod(0o755)


@matrix("agent", "forge refuses the lane_open_pr push",
    "tool call fails; attempt 1 fails (invalid disposition), attempt 2 delivers; one PR, "
    "one merge")
def test_push_refused_during_the_agent_fails_the_attempt_and_the_retry_delivers(
        faultbox: FaultBox) -> None:
    faultbox.env.pop("MAESTRO_FAULT_ONCE")
    refuse_first_push_of(faultbox.origin, "add feature")
    codes = deliver(faultbox, "RES-1")
    assert (faultbox.origin / "refused-once").exists()
    assert codes[0] == 1
    archived = faultbox.repo / ".maestro" / "lanes" / "RES-1" / "attempts" / "0001"
    assert json.loads((archived / "result.json").read_text())["disposition"] == "failed"
    notes = faultbox.comments("RES-1")
    runs = Counter((b["kind"], b["run_id"]) for b in comments.blocks(notes))
    assert all(n == 1 for n in runs.values())
    assert sum(1 for kind, _ in runs if kind == "start") == 2  # one per attempt
    assert faultbox.issue("RES-1").state == "Done"
    assert signature(faultbox, "RES-1")["merges"] == 1
    assert signature(faultbox, "RES-1")["prs"] == ["merged"]



@matrix("review ⟲ repair", "forge refuses the repair push", RETRY_RESUMED)
def test_push_refused_during_repair_halts_for_retry_and_loses_nothing(
        faultbox: FaultBox, uninterrupted: dict[str, Any]) -> None:
    refuse_first_push_of(faultbox.origin, "address review")
    codes = deliver(faultbox, "RES-1")
    assert (faultbox.origin / "refused-once").exists()
    assert 1 in codes
    assert any("push" in h["reason"] and h["outcome"] == "retry"
               for h in halts(faultbox, "RES-1"))
    assert_delivered_once(faultbox, "RES-1")  # type: ignore[arg-type]
    assert signature(faultbox, "RES-1") == uninterrupted



# -- disk full ------------------------------------------------------------------------------


@matrix("handoff", "disk full (ENOSPC) writing its target pr.json", RETRY_RESUMED)
def test_disk_full_while_writing_a_target_keeps_the_lane_resumable(
        faultbox: FaultBox, uninterrupted: dict[str, Any]) -> None:
    faultbox.env["MAESTRO_TEST_ENOSPC"] = "pr.json"
    codes = deliver(faultbox, "RES-1")
    assert faultbox.flag.exists()
    assert codes[0] == 1
    full = [h for h in halts(faultbox, "RES-1") if "No space left" in h["reason"]]
    assert [(h["outcome"], h["phase"]) for h in full] == [("retry", "handoff")]
    assert_delivered_once(faultbox, "RES-1")  # type: ignore[arg-type]
    assert signature(faultbox, "RES-1") == uninterrupted



@matrix("validate", "disk full (ENOSPC) from validation.json to the end of the run",
    "run fails with one `No space left` message, no traceback, no half file; the next "
    "run resumes at validate")
def test_disk_full_for_the_rest_of_a_run_leaves_no_traceback_and_loses_nothing(
        faultbox: FaultBox, uninterrupted: dict[str, Any]) -> None:
    faultbox.env["MAESTRO_TEST_ENOSPC"] = "validation.json:persist"
    faultbox.add_issue("RES-1", script="steps:\n  - write: {path: feature.txt, content: x}\n"
                                       "  - commit: add feature\n  - handoff: done\n")
    proc = faultbox.lane("RES-1")
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "No space left" in proc.stderr + proc.stdout
    lane = faultbox.repo / ".maestro" / "lanes" / "RES-1"
    assert not (lane / "validation.json").exists()
    assert not list(lane.glob(".*.tmp"))
    faultbox.env.pop("MAESTRO_TEST_ENOSPC")
    proc = faultbox.lane("RES-1")
    assert faultbox.outcome("RES-1") == "waiting", proc.stderr
    assert faultbox.lane_file("RES-1", "validation.json")["passed"] is True



@matrix("any write", "disk full (ENOSPC) during an atomic write",
    "the write raises; the old file is intact; no temporary file is left")
def test_atomic_write_that_hits_a_full_disk_keeps_the_old_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "pr.json"
    target.write_text('{"old": true}\n')

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError, match="No space left"):
        write_atomic(target, '{"new": true}\n')
    assert target.read_text() == '{"old": true}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pr.json"]

