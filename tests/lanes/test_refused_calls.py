"""A tool call that breaks policy is refused and decisive: the session ends and the attempt
goes the attention way, with the refused call named in the comment and in ``maestro status``."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Sandbox

pytestmark = pytest.mark.slow

CASES = {
    "a forbidden transition": ("{name: issue_transition, args: {state: Done}}",
                               "issue_transition(state='Done')"),
    # finding 4: a terminal state disguised by whitespace is the state it imitates
    "a disguised terminal transition": ("{name: issue_transition, args: {state: \" Done\\t\"}}",
                                        "issue_transition(state=' Done\\t')"),
    "another issue": ("{name: issue_comment, args: {body: hi, issue: OTHER-9}}",
                      "issue_comment(body='hi', issue='OTHER-9')"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_policy_violation_takes_the_attention_path_naming_the_call(
        sandbox: Sandbox, case: str) -> None:
    step, named = CASES[case]
    sandbox.add_issue("RC-1", script=(
        "steps:\n  - write: {path: a.txt, content: \"a\\n\"}\n  - commit: a\n"
        f"  - tool: {step}\n  - handoff: done\n"))
    sandbox.lane("RC-1")
    assert sandbox.outcome("RC-1") == "needs_human"
    issue = sandbox.issue("RC-1")
    assert issue.state == "Todo" and "maestro:needs-attention" in issue.labels
    failure = [c.body for c in sandbox.comments("RC-1") if "needs a human" in c.body]
    assert len(failure) == 1 and named in failure[0] and "policy_violation" in failure[0]
    assert not list(sandbox.origin.glob("maestro-forge/pulls/*.json"))  # the session ended
    status = json.loads(sandbox.maestro("status", "--json", check=True).stdout)
    [lane] = [lane for lane in status["lanes"] if lane["issue"] == "RC-1"]
    assert any(named in call for call in lane["refused_calls"])
    assert named in lane["needs_human"]["reason"]
