"""Each skill that defines behaviour, exercised through the scripted agent on a throwaway lane.

The scripted agent follows a ``maestro-script`` in the issue, so these tests play an agent
that does what a skill says and check that maestro sees exactly that.
"""

from __future__ import annotations

import json
import subprocess
import sys

from smoke import ASSETS_ROOT, Lane

from maestro.lanes.record.comments import checkpoints

CHECKPOINT = ASSETS_ROOT / ".codex/skills/execution-state/scripts/checkpoint.py"


def test_execution_state_latest_checkpoint_appears_in_status_json(lane: Lane) -> None:
    lane.add_issue("SMK-1", """
        steps:
          - checkpoint: {phase: plan, focus: notes file, next_action: write it,
                         blockers: [], evidence: [README.md], verification: []}
          - write: {path: notes/SMK-1.md, content: "smoke\\n"}
          - commit: "SMK-1: notes"
          - checkpoint: {phase: handoff, focus: notes file, next_action: hand off for review,
                         blockers: [], evidence: [notes/SMK-1.md],
                         verification: ["git status: clean"]}
          - handoff: "notes added"
        """)
    assert lane.run("SMK-1") == "waiting"
    shown = lane.status_lane("SMK-1")["checkpoint"]
    assert shown["phase"] == "handoff"
    assert shown["next_action"] == "hand off for review"
    assert shown["verification"] == ["git status: clean"]
    assert shown["posted_at"]


def test_execution_state_checkpoints_posted_by_the_agent_pass_the_skill_validator(
        lane: Lane) -> None:
    lane.add_issue("SMK-2", """
        steps:
          - checkpoint: {phase: implement, focus: notes, next_action: commit,
                         blockers: [], evidence: [], verification: []}
          - handoff: "done"
        """)
    lane.run("SMK-2")
    bodies = [c.body for c in lane.tracker.comments("SMK-2")
              if checkpoints([c])]
    assert len(bodies) == 1
    proc = subprocess.run([sys.executable, "-B", str(CHECKPOINT), "validate", "-"],
                          input=bodies[0], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


def test_execution_state_checkpoint_shows_in_the_status_text_view(lane: Lane) -> None:
    lane.add_issue("SMK-3", """
        steps:
          - checkpoint: {phase: blocked, focus: flaky fixture, next_action: ask a human,
                         blockers: [fixture needs a decision], evidence: [], verification: []}
          - attention: "the fixture needs a decision"
        """)
    lane.run("SMK-3")
    text = lane.maestro("status").stdout
    assert "flaky fixture" in text and "ask a human" in text


def test_maestro_lane_review_path_hands_the_issue_to_review(lane: Lane) -> None:
    lane.add_issue("SMK-4", """
        steps:
          - write: {path: notes/SMK-4.md, content: "x\\n"}
          - commit: "SMK-4: notes"
          - open_pr: {title: "SMK-4: notes"}
          - handoff: "notes added"
        """)
    assert lane.run("SMK-4") == "waiting"
    assert lane.tracker.get("SMK-4").state == "In Review"
    assert lane.file("SMK-4", "result.json")["disposition"] == "review_handoff"


def test_maestro_lane_blocked_path_stops_for_a_human(lane: Lane) -> None:
    lane.add_issue("SMK-5", """
        steps:
          - attention: "the issue contradicts the design guide"
        """)
    assert lane.run("SMK-5") == "needs_human"
    assert "maestro:needs-attention" in lane.tracker.get("SMK-5").labels


def test_maestro_lane_call_naming_another_issue_is_refused(lane: Lane) -> None:
    lane.add_issue("SMK-6", "steps: []")
    lane.add_issue("SMK-7", """
        steps:
          - tool: {name: issue_comment, args: {body: "hello", issue: SMK-6}}
          - handoff: "done"
        """)
    lane.run("SMK-7")
    assert lane.tracker.comments("SMK-6") == []
    calls = [json.loads(line) for line in (lane.repo / ".maestro/lanes/SMK-7/tools.jsonl")
             .read_text().splitlines()]
    refused = [c for c in calls if c["tool"] == "issue_comment" and not c["ok"]]
    assert refused and "another issue" in refused[0]["result"]


def test_scout_skeptic_plan_checkpoint_carries_the_evidence(lane: Lane) -> None:
    lane.add_issue("SMK-8", """
        steps:
          - checkpoint: {phase: plan, focus: rename a status field,
                         next_action: write the failing test first, blockers: [],
                         evidence: ["maestro/operator/status.py: lane_snapshot builds the field"],
                         verification: ["skeptic: no stored record holds the field"]}
          - end_turn
        """)
    lane.run("SMK-8")
    shown = lane.status_lane("SMK-8")["checkpoint"]
    assert shown["phase"] == "plan"
    assert shown["evidence"] == ["maestro/operator/status.py: lane_snapshot builds the field"]


def test_review_repair_round_finishes_with_repair_complete(lane: Lane) -> None:
    lane.add_issue("SMK-9", """
        steps:
          - write: {path: feature.txt, content: "feature\\n"}
          - commit: "add feature"
          - handoff: "feature added"
        repair:
          - checkpoint: {phase: repair, focus: mark it reviewed, next_action: commit,
                         blockers: [], evidence: [], verification: []}
          - append: {path: feature.txt, content: "reviewed\\n"}
          - commit: "address review: mark it reviewed"
          - repair_complete: "marked it reviewed"
        """)
    assert lane.run("SMK-9") == "waiting"
    lane.maestro("review", "request-changes", "SMK-9", "--comment", "mark it reviewed")
    assert lane.run("SMK-9") == "waiting"
    assert lane.file("SMK-9", "pr.json")["repair_rounds"] == 1
    assert lane.status_lane("SMK-9")["checkpoint"]["phase"] == "repair"
