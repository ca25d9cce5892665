"""One agent attempt through ``maestro lane`` with the scripted agent as a real subprocess.

Each test scripts the agent in the issue description and checks what the lane recorded:
``result.json`` (disposition, error class, retryability), ``turns/``, ``tools.jsonl``,
``journal.jsonl``, ``activity.json`` and the tracker. The client code is the same one that
drives the real ``codex app-server``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from maestro.lanes.sessions.agent_run import DECLINE_REASON

from .helpers import configure_service, read_jsonl


@pytest.fixture
def box(sandbox: Any) -> Any:
    """A sandbox with fast agent timeouts and a small turn budget."""
    configure_service(sandbox.repo)
    sandbox.edit_workflow("max_turns = 10", "max_turns = 2")
    return sandbox


def lane_dir(box: Any, identifier: str) -> Path:
    return Path(box.repo) / ".maestro" / "lanes" / identifier


def result(box: Any, identifier: str) -> dict[str, Any]:
    data = box.lane_file(identifier, "result.json")
    assert isinstance(data, dict), "the agent phase wrote no result.json"
    return data


WORK = """
  - write: {path: notes/x.md, content: "x\\n"}
  - commit: "add notes"
"""


def test_scripted_handoff_reaches_review_with_tokens_and_activity(box: Any) -> None:
    box.add_issue("T-1", script="steps:" + WORK + "  - handoff: done\n")
    box.lane("T-1")
    outcome = result(box, "T-1")
    assert outcome["disposition"] == "review_handoff"
    assert outcome["turns"] == 1
    assert outcome["tokens"]["totalTokens"] == 150
    activity = box.lane_file("T-1", "activity.json")
    assert activity["thread_id"] == outcome["thread_id"]
    assert activity["event_count"] > 0
    turn = box.lane_file("T-1", "turns/0001.json")
    assert turn["status"] == "completed" and turn["tokens"]["totalTokens"] == 150
    assert box.issue("T-1").state == "In Review"


def test_turn_budget_exhausted_without_terminal_signal(box: Any) -> None:
    box.add_issue("T-2", script="steps:" + WORK)
    box.lane("T-2")
    outcome = result(box, "T-2")
    assert outcome["disposition"] == "failed"
    assert outcome["error_class"] == "turns_exhausted"
    assert outcome["turns"] == 2
    assert sorted(p.name for p in (lane_dir(box, "T-2") / "turns").iterdir()) == [
        "0001.json", "0002.json"]


def test_turn_records_carry_lane_totals_and_per_turn_tokens(box: Any) -> None:
    box.add_issue("T-2", script="steps:" + WORK)
    box.lane("T-2")
    first = box.lane_file("T-2", "turns/0001.json")
    second = box.lane_file("T-2", "turns/0002.json")
    assert (first["tokens"]["totalTokens"], second["tokens"]["totalTokens"]) == (150, 300)
    assert second["turn_tokens"]["totalTokens"] == 150
    assert result(box, "T-2")["tokens"]["totalTokens"] == 300


def test_continuation_turn_gets_continuation_guidance_not_the_first_prompt(
        box: Any, tmp_path: Path) -> None:
    seen = tmp_path / "inputs.txt"
    box.add_issue("T-3", title="Unique title for T-3", script=f"""
        steps:
          - save_input: {seen}
          - end_turn
          - save_input: {seen}
          - handoff: done
        """.replace("  - handoff", "  - write: {path: a.md, content: a}\n          - commit: a\n"
                                   "          - handoff"))
    box.lane("T-3")
    first, second = seen.read_text().split("\n---\n")[:2]
    assert "Unique title for T-3" in first
    assert "Continue working on T-3 (turn 2 of 2)" in second
    assert "Unique title for T-3" not in second
    assert result(box, "T-3")["disposition"] == "review_handoff"
    assert result(box, "T-3")["turns"] == 2


INVALID = {
    "both_signals": """
        - open_pr: {}
        - tool: {name: issue_review_handoff, args: {pr_url: "local://origin/pulls/1", summary: s}}
        - tool: {name: issue_label_add, args: {label: "maestro:needs-attention"}}
        - comment: "blocked on a decision"
        - finalize: review_handoff
    """,
    "finalize_without_any_signal": """
        - finalize: review_handoff
    """,
    "label_without_comment": """
        - tool: {name: issue_label_add, args: {label: "maestro:needs-attention"}}
        - finalize: manual_attention
    """,
    "handoff_without_finalize": """
        - open_pr: {}
        - tool: {name: issue_review_handoff, args: {pr_url: "local://origin/pulls/1", summary: s}}
    """,
    "mismatched_finalize": """
        - open_pr: {}
        - tool: {name: issue_review_handoff, args: {pr_url: "local://origin/pulls/1", summary: s}}
        - finalize: review_repair
    """,
    "two_finalize_paths": """
        - handoff: done
        - finalize: manual_attention
    """,
}
REASONS = {
    "both_signals": "both a review signal and manual attention",
    "finalize_without_any_signal": "issue_review_handoff was not called",
    "label_without_comment": "without a comment",
    "handoff_without_finalize": "got None",
    "mismatched_finalize": "got 'review_repair'",
    "two_finalize_paths": "several paths",
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_disposition_fails_the_attempt(box: Any, case: str) -> None:
    steps = "\n".join(line.strip() and "  " + line.strip() for line in
                      INVALID[case].strip().splitlines())
    box.add_issue("T-4", script="steps:" + WORK + steps + "\n")
    box.lane("T-4")
    outcome = result(box, "T-4")
    assert outcome["disposition"] == "failed"
    assert outcome["error_class"] == "invalid_disposition"
    assert REASONS[case] in outcome["reason"]
    assert box.issue("T-4").state != "In Review"
    assert not (lane_dir(box, "T-4") / "pr.json").exists()


def test_tool_call_for_another_issue_is_rejected_and_journaled(box: Any) -> None:
    box.add_issue("T-5", script="""
        steps:
          - tool: {name: issue_comment, args: {body: "hello", issue: "T-99"}}
        """)
    box.add_issue("T-99")
    box.lane("T-5")
    calls = read_jsonl(lane_dir(box, "T-5") / "tools.jsonl")
    assert [(c["tool"], c["ok"]) for c in calls] == [("issue_comment", False)]
    assert "another issue" in calls[0]["result"]
    journal = read_jsonl(lane_dir(box, "T-5") / "journal.jsonl")
    refused = [e for e in journal if e.get("event") == "tool"]
    assert refused and refused[0]["ok"] is False and "policy violation" in refused[0]["result"]
    assert "another issue" in result(box, "T-5")["reason"]
    assert not [c for c in box.comments("T-99") if "hello" in c.body]


def test_unknown_tool_gets_a_structured_failure_and_the_turn_goes_on(box: Any) -> None:
    box.add_issue("T-6", script="steps:" + WORK + """
  - tool: {name: no_such_tool, args: {}}
  - handoff: done
""")
    box.lane("T-6")
    journal = read_jsonl(lane_dir(box, "T-6") / "journal.jsonl")
    unknown = [e for e in journal if e.get("tool") == "no_such_tool"]
    assert unknown and unknown[0]["ok"] is False and "unknown tool" in unknown[0]["result"]
    assert result(box, "T-6")["disposition"] == "review_handoff"


def test_stall_is_a_human_required_failure_without_retry(box: Any) -> None:
    configure_service(box.repo, agent={"idle_timeout_s": 1.0})
    box.add_issue("T-7", script="steps:\n  - hang\n")
    box.lane("T-7")
    outcome = result(box, "T-7")
    assert outcome["error_class"] == "stalled"
    assert outcome["retryable"] is False
    issue = box.issue("T-7")
    assert issue.has_label("maestro:needs-attention")
    assert issue.state == "Todo"
    assert box.lane_file("T-7", "attention.json")["error_class"] == "stalled"


def test_malformed_line_fails_with_malformed_line(box: Any) -> None:
    box.add_issue("T-8", script="steps:\n  - garbage\n  - hang\n")
    box.lane("T-8")
    assert result(box, "T-8")["error_class"] == "malformed_line"
    assert result(box, "T-8")["retryable"] is True


def test_crashing_child_fails_with_process_exited(box: Any) -> None:
    box.add_issue("T-9", script="steps:\n  - crash\n")
    box.lane("T-9")
    assert result(box, "T-9")["error_class"] == "process_exited"
    assert "17" in result(box, "T-9")["reason"]


def test_ten_megabyte_line_is_accepted(box: Any) -> None:
    box.add_issue("T-10", script="steps:" + WORK + "  - big_line: 10000000\n  - handoff: ok\n")
    box.lane("T-10")
    assert result(box, "T-10")["disposition"] == "review_handoff"


def test_child_environment_has_no_tracker_or_forge_secrets(box: Any, tmp_path: Path) -> None:
    configure_service(box.repo, tracker={"api_key_env_var": "ACME_TRACKER_SECRET"})
    # a webhook secret named inside the MAESTRO_* prefix the agent may see is dropped too
    with (box.repo / "maestro.toml").open("a") as toml:
        toml.write('\n[webhooks]\nlinear_secret_env_var = "MAESTRO_LINEAR_HOOK"\n')
    dump = tmp_path / "env.json"
    box.add_issue("T-11", script=f"""
        steps:
          - run: "python3 -c 'import json, os; print(json.dumps(dict(os.environ)))' > {dump}"
        """)
    secrets = {"LINEAR_API_KEY": "lin_1", "GITHUB_TOKEN": "ghp_2", "GH_TOKEN": "ghp_3",
               "ACME_TRACKER_SECRET": "acme_4", "GITHUB_WEBHOOK_SECRET": "hook_5",
               "MAESTRO_LINEAR_HOOK": "hook_6"}
    box.lane("T-11", env=secrets)
    env = json.loads(dump.read_text())
    assert env["MAESTRO_ISSUE"] == "T-11"
    leaked = {k for k in secrets if k in env} | {
        k for k, v in env.items() if v in secrets.values()}
    assert leaked == set()


DENIED = {"denied": {"rejection": DECLINE_REASON}}
APPROVALS = {
    "item/commandExecution/requestApproval": {"decision": "decline"},
    "item/fileChange/requestApproval": {"decision": "decline"},
    "item/permissions/requestApproval": {"permissions": {}, "scope": "turn"},
    "execCommandApproval": {"decision": DENIED},
    "applyPatchApproval": {"decision": DENIED},
}


@pytest.mark.parametrize("method", sorted(APPROVALS))
def test_approval_request_is_declined_and_the_turn_continues(
        box: Any, tmp_path: Path, method: str) -> None:
    answer = tmp_path / "answer.json"
    box.add_issue("T-12", script="steps:" + WORK + f"""
  - request: {{method: "{method}", save: "{answer}", params: {{itemId: i1}}}}
  - handoff: done
""")
    box.lane("T-12")
    assert json.loads(answer.read_text()) == {"result": APPROVALS[method]}
    assert result(box, "T-12")["disposition"] == "review_handoff"


@pytest.mark.parametrize("method", ["item/tool/requestUserInput", "mcpServer/elicitation/request"])
def test_user_input_request_fails_the_attempt_as_human_input_required(
        box: Any, method: str) -> None:
    box.add_issue("T-13", script=f"""
        steps:
          - request: {{method: "{method}", params: {{questions: []}}}}
          - hang
        """)
    box.lane("T-13")
    outcome = result(box, "T-13")
    assert outcome["error_class"] == "human_input_required"
    assert outcome["retryable"] is False
    assert box.issue("T-13").has_label("maestro:needs-attention")
    assert box.lane_file("T-13", "activity.json")["waiting_on"] == "human"


def test_unserved_server_request_gets_an_error_reply(box: Any, tmp_path: Path) -> None:
    answer = tmp_path / "answer.json"
    box.add_issue("T-14", script="steps:" + WORK + f"""
  - request: {{method: "account/chatgptAuthTokens/refresh", save: "{answer}"}}
  - handoff: done
""")
    box.lane("T-14")
    reply = json.loads(answer.read_text())
    assert "error" in reply and "account/chatgptAuthTokens/refresh" in reply["error"]["message"]
    assert result(box, "T-14")["disposition"] == "review_handoff"


def test_missing_agent_command_is_found_by_the_preflight_not_spent_as_an_attempt(
        box: Any, tmp_path: Path) -> None:
    configure_service(box.repo, agent={"command": str(tmp_path / "no-such-agent")})
    box.add_issue("T-15")
    box.lane("T-15")
    assert box.lane_file("T-15", "result.json") is None  # no agent attempt was spent
    attention = box.lane_file("T-15", "attention.json")
    assert attention["error_class"] == "preflight_failed"
    assert "no-such-agent' was not found on PATH" in attention["reason"]


def test_busy_turn_longer_than_the_turn_timeout_fails_with_turn_timeout(box: Any) -> None:
    configure_service(box.repo, agent={"turn_timeout_s": 1.0})
    box.add_issue("T-16", script="steps:\n" + "  - sleep: 0.2\n" * 25)
    box.lane("T-16")
    assert result(box, "T-16")["error_class"] == "turn_timeout"
