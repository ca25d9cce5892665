"""Token budgets on real lanes: the scripted agent's own token notifications are enforced
live, a lane over its issue budget starts no other session, a label raises a ceiling, and
the daily ceiling holds the poll loop's new dispatch (docs/guide/budgets.md)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from maestro.config.budget import BudgetLimits, BudgetPolicy
from maestro.config.workflow import WorkflowPolicy
from maestro.fsutil import read_jsonl
from maestro.lanes.sessions.state_policy import reserved_label
from maestro.observability.logs import log_path
from maestro.operator.status import snapshot
from maestro.orchestration.orchestrator import Orchestrator
from tests.conftest import Sandbox

ATTENTION = "maestro:needs-attention"
LARGE = "maestro:budget-large"

#: 5,000 tokens reported mid-turn, then work that must never happen.
GREEDY = """
steps:
  - tokens: 5000
  - hang
  - write: {path: late.txt, content: "too late\\n"}
  - commit: "late"
  - handoff: "should never happen"
"""


def budget(sandbox: Sandbox, text: str) -> None:
    sandbox.edit_workflow("[forge]", f"[budget]\n{text.strip()}\n\n[forge]")


def failure_comment(sandbox: Sandbox, identifier: str) -> str:
    [comment] = [c.body for c in sandbox.comments(identifier) if "needs a human" in c.body]
    return comment


def turns(sandbox: Sandbox, identifier: str) -> list[dict[str, Any]]:
    folder = sandbox.repo / ".maestro" / "lanes" / identifier / "turns"
    return [json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))]


def test_an_agent_over_the_issue_budget_is_interrupted_and_needs_a_human(
        sandbox: Sandbox) -> None:
    budget(sandbox, "max_tokens_per_issue = 1000")
    sandbox.add_issue("BU-1", script=GREEDY)
    proc = sandbox.lane("BU-1")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert sandbox.outcome("BU-1") == "needs_human"
    issue = sandbox.issue("BU-1")
    assert issue.has_label(ATTENTION) and issue.state == "Todo"
    comment = failure_comment(sandbox, "BU-1")
    assert "budget_exceeded" in comment
    assert ("token budget max_tokens_per_issue reached: this issue spent 5,000 tokens of "
            "1,000") in comment
    assert "the agent's turn was interrupted" in comment
    # Stopped mid-run: the turn ended interrupted, nothing after the hang happened.
    [turn] = turns(sandbox, "BU-1")
    assert turn["status"] == "interrupted"
    assert not (sandbox.repo / ".worktrees" / "BU-1" / "late.txt").exists()
    assert sandbox.lane_file("BU-1", "pr.json") is None
    assert sandbox.lane_file("BU-1", "result.json")["retryable"] is False
    lane = next(item for item in snapshot(sandbox.config)["lanes"] if item["issue"] == "BU-1")
    assert lane["budget"] == {"max_tokens_per_issue": 1000, "spent": 5150, "remaining": 0}


def test_a_label_override_raises_the_issue_ceiling(sandbox: Sandbox) -> None:
    budget(sandbox, f"""
max_tokens_per_issue = 1000
[budget.labels."{LARGE}"]
max_tokens_per_issue = 100000
""")
    sandbox.add_issue("BU-2", labels=[LARGE], script="""
steps:
  - tokens: 5000
  - write: {path: big.txt, content: "big\\n"}
  - commit: "big work"
  - handoff: "done within the larger budget"
""")
    sandbox.lane("BU-2")
    assert sandbox.issue("BU-2").state == "In Review"
    record = sandbox.lane_file("BU-2", "budget.json")
    assert record["max_tokens_per_issue"] == 100000 and record["labels"] == [LARGE]
    assert "breach" not in record


def test_a_lane_over_its_issue_budget_starts_no_other_session(sandbox: Sandbox) -> None:
    budget(sandbox, f"""
max_tokens_per_issue = 1000
[budget.labels."{LARGE}"]
max_tokens_per_issue = 100000
""")
    sandbox.add_issue("BU-3", labels=[LARGE], script="""
steps:
  - tokens: 5000
  - crash
""")
    sandbox.lane("BU-3")
    assert sandbox.outcome("BU-3") == "retry"  # the larger budget let it spend 5,000
    sandbox.maestro("issue", "label", "BU-3", LARGE, "--remove", check=True)
    sandbox.lane("BU-3")  # the retry: over the default ceiling before it starts
    assert sandbox.outcome("BU-3") == "needs_human"
    comment = failure_comment(sandbox, "BU-3")
    assert "this issue spent 5,000 tokens of 1,000" in comment
    assert "no new session was started" in comment
    sessions = snapshot(sandbox.config)["lanes"][0]["token_sessions"]
    assert len(sessions) == 1, "the agent must not have started a second time"


def test_the_daily_ceiling_holds_new_dispatch(sandbox: Sandbox) -> None:
    sandbox.add_issue("BU-4")
    sandbox.lane("BU-4")  # the default script: one turn, 150 tokens today
    budget(sandbox, "max_tokens_per_day = 150")
    sandbox.add_issue("BU-5")
    orchestrator = Orchestrator(sandbox.config)
    first, second = orchestrator.tick(), orchestrator.tick()
    for plan in (first, second):
        assert plan.dispatch == []
        assert plan.held.startswith("held: the daily token ceiling max_tokens_per_day=150")
        assert ("BU-5", plan.held) in [(s["issue"], s["reason"]) for s in plan.skipped]
    events = [e for e in read_jsonl(log_path(sandbox.config)) if e.get("event") == "budget_hold"]
    assert len(events) == 1, "the hold is logged once, not every tick"
    assert snapshot(sandbox.config)["budget"] == {
        "max_tokens_per_day": 150, "spent_today": 150, "remaining_today": 0,
        "holding_dispatch": True}
    sandbox.edit_workflow("max_tokens_per_day = 150", "max_tokens_per_day = 100000")
    assert Orchestrator(sandbox.config).plan(dry_run=True).issues() == ["BU-5"]


def test_a_handoff_that_reached_the_ceiling_stands_and_no_repair_starts(
        sandbox: Sandbox) -> None:
    budget(sandbox, "max_tokens_per_issue = 1000")
    sandbox.add_issue("BU-6", script="""
steps:
  - write: {path: a.txt, content: "a\\n"}
  - commit: a
  - tokens: 850
  - handoff: done
repair:
  - append: {path: a.txt, content: "b\\n"}
  - commit: b
  - repair_complete: fixed
""")
    sandbox.lane("BU-6")  # 850 + 150 at the end of the turn: the ceiling, after the handoff
    assert sandbox.issue("BU-6").state == "In Review"
    sandbox.maestro("review", "request-changes", "BU-6", "--comment", "add b", check=True)
    sandbox.lane("BU-6")
    assert sandbox.outcome("BU-6") == "needs_human"
    comment = failure_comment(sandbox, "BU-6")
    assert "this issue spent 1,000 tokens of 1,000" in comment
    assert "no new session was started" in comment
    assert "b" not in (sandbox.repo / ".worktrees" / "BU-6" / "a.txt").read_text()


#: 5,000 tokens, then a report 4,900 lower (as a line forged into the agent's stdout would be).
LOWERED = """
steps:
  - tokens: 5000
  - tokens: -4900
"""


def test_a_lower_token_report_never_lowers_what_a_session_spent(sandbox: Sandbox) -> None:
    sandbox.add_issue("BU-9", script=LOWERED)
    sandbox.lane("BU-9")
    spent = sandbox.lane_file("BU-9", "result.json")["tokens"]["totalTokens"]
    assert spent >= 5000
    [session] = json.loads((sandbox.repo / ".maestro/lanes/BU-9/tokens.json").read_text()
                           )["sessions"].values()
    assert session["tokens"]["totalTokens"] == spent


@pytest.mark.parametrize(("label", "reserved"), [
    (LARGE, True),
    (" MAESTRO:Budget-Large\t", True),  # a disguised spelling is the label it imitates
    ("maestro:manual-only", True),  # the opt-out label: a person's way to keep maestro off
    (ATTENTION, False),  # asking for a human is the agent's to do
    ("needs-design", False),
])
def test_the_agent_may_add_no_label_that_is_a_persons_decision(label: str,
                                                                 reserved: bool) -> None:
    policy = WorkflowPolicy(budget=BudgetPolicy(
        max_tokens_per_issue=1000, labels={LARGE: BudgetLimits(max_tokens_per_issue=10**7)}))
    assert (reserved_label(policy, label) is not None) is reserved


def test_an_agent_that_adds_a_budget_label_to_its_issue_stops_for_a_person(
        sandbox: Sandbox) -> None:
    budget(sandbox, f'max_tokens_per_issue = 20000\n[budget.labels."{LARGE}"]\n'
                    "max_tokens_per_issue = 10000000")
    sandbox.add_issue("BU-10", script=f"""
steps:
  - tool: {{name: issue_label_add, args: {{label: "{LARGE}"}}}}
  - write: {{path: a.txt, content: a}}
  - commit: a
  - handoff: done
""")
    sandbox.lane("BU-10")
    assert sandbox.outcome("BU-10") == "needs_human"
    assert not sandbox.issue("BU-10").has_label(LARGE)
    assert "policy_violation" in failure_comment(sandbox, "BU-10")
