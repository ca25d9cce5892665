"""Whole lanes with a real ACP agent (``[agent] transport = "acp"``), offline.

The agent is the Claude ACP adapter (``@agentclientprotocol/claude-agent-acp``), which runs
Claude Code inside; a loopback server plays the model (``fake_anthropic.py``). maestro is
the ACP client: it opens the session with its MCP tools, sends the turns, and answers the
adapter's permission requests by its unattended policy.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from .claude_lanes import (
    SECRETS,
    dump_envs,
    kill_ancestor,
    mcp,
    processes_in,
    sigterm_mid_turn,
)
from .claude_lanes import run_lane as run_any_lane
from .fake_anthropic import (
    REPAIR_MARK,
    FakeAnthropic,
    bash,
    observing,
    pr_url,
    stall,
    text,
    tool,
)
from .helpers import read_jsonl

pytestmark = [pytest.mark.slow]

COMMIT = ("mkdir -p notes && printf '# AC-1\\n\\nWritten over ACP.\\n' > notes/AC-1.md && "
          "git add notes && git commit -q -m 'AC-1: add notes'")


def run_lane(sandbox: Any, agent: Path, model: FakeAnthropic, tmp_path: Path,
             issue: str, **keys: Any) -> subprocess.CompletedProcess[str]:
    return run_any_lane(sandbox, "acp", agent, model, tmp_path, issue, **keys)


def test_an_acp_agent_works_a_lane_to_review_handoff_over_two_turns(
        sandbox: Any, claude_acp: Path, tmp_path: Path) -> None:
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    model = FakeAnthropic([
        text("I looked around; the change comes next turn."),
        bash(dump_envs(dumps)),
        bash(COMMIT),
        tool(mcp("lane_open_pr"), {"title": "AC-1: add notes", "body": "Adds notes"}),
        # The agent's shell may not see the MCP server's process: the test reads it itself.
        observing(dumps / "mcp.env", tool(mcp("issue_review_handoff"), pr_url)),
        tool(mcp("issue_terminal_finalize"), {"path": "review_handoff"}),
        text("Opened the PR and handed it off for review."),
    ])
    sandbox.add_issue("AC-1", title="Add notes for AC-1")
    sandbox.edit_workflow("max_turns = 10", "max_turns = 3")
    proc = run_lane(sandbox, claude_acp, model, tmp_path, "AC-1")
    result = sandbox.lane_file("AC-1", "result.json")
    assert result is not None, proc.stderr
    assert result["disposition"] == "review_handoff", result
    assert result["turns"] == 2
    first, second = (sandbox.lane_file("AC-1", f"turns/000{n}.json") for n in (1, 2))
    assert first["thread_id"] == second["thread_id"] == result["thread_id"]
    assert "Continue working on AC-1 (turn 2 of 3)" in json.dumps(model.requests[-1])
    assert result["tokens"]["totalTokens"] > 0
    assert sandbox.issue("AC-1").state == "In Review"
    pr = sandbox.lane_file("AC-1", "pr.json")
    shown = subprocess.run(["git", "show", f"{pr['validated_head']}:notes/AC-1.md"],
                           cwd=sandbox.origin, capture_output=True, text=True, check=True)
    assert "Written over ACP." in shown.stdout
    journal = read_jsonl(Path(sandbox.repo) / ".maestro/lanes/AC-1/journal.jsonl")
    decisions = [e["decision"] for e in journal if e.get("event") == "permission"]
    assert decisions and all("allowed" in d for d in decisions), decisions
    assert any(e.get("event") == "acp" and e.get("update") == "tool_call" for e in journal)
    assert b"MAESTRO_ISSUE=AC-1" in (dumps / "mcp.env").read_bytes()  # the server was found
    for name in ("agent.env", "mcp.env"):
        env = (dumps / name).read_bytes().decode(errors="replace")
        assert not [k for k, v in SECRETS.items() if k in env or v in env], name


def test_an_acp_agent_naming_another_issue_is_refused_and_ends_the_session(
        sandbox: Any, claude_acp: Path, tmp_path: Path) -> None:
    model = FakeAnthropic([
        tool(mcp("issue_comment"), {"body": "hi", "issue": "OTHER-9"}),
        text("should never be asked"),
    ])
    sandbox.add_issue("AC-2")
    run_lane(sandbox, claude_acp, model, tmp_path, "AC-2")
    assert sandbox.outcome("AC-2") == "needs_human"
    failure = [c.body for c in sandbox.comments("AC-2") if "needs a human" in c.body]
    assert len(failure) == 1 and "issue_comment(body='hi', issue='OTHER-9')" in failure[0]
    tools = read_jsonl(Path(sandbox.repo) / ".maestro/lanes/AC-2/tools.jsonl")
    assert [(t["tool"], t["ok"]) for t in tools] == [("issue_comment", False)]


KILL_ADAPTER = kill_ancestor("claude-agent-", "acp")  # the agent kills its own process


def test_an_acp_turn_killed_before_its_response_counts_the_context_it_reported(
        sandbox: Any, claude_acp: Path, tmp_path: Path) -> None:
    model = FakeAnthropic([bash("echo one"), bash(KILL_ADAPTER), text("never asked")])
    sandbox.add_issue("AC-9")
    run_lane(sandbox, claude_acp, model, tmp_path, "AC-9")
    result = sandbox.lane_file("AC-9", "result.json")
    assert result["retryable"] is True and result["disposition"] == "failed", result
    assert len(model.requests) == 2
    assert result["tokens"]["inputTokens"] >= 100  # at least one request's prompt
    ledger = sandbox.lane_file("AC-9", "tokens.json")["sessions"]
    assert [entry["tokens"]["inputTokens"] for entry in ledger.values()] == [
        result["tokens"]["inputTokens"]]


def test_an_acp_agent_waiting_on_a_silent_model_is_a_stall(
        sandbox: Any, claude_acp: Path, tmp_path: Path) -> None:
    model = FakeAnthropic([])
    model.script = [stall(model)]
    sandbox.add_issue("AC-3")
    run_lane(sandbox, claude_acp, model, tmp_path, "AC-3", idle_timeout_s=3.0)
    result = sandbox.lane_file("AC-3", "result.json")
    assert result["error_class"] == "stalled"
    assert sandbox.issue("AC-3").has_label("maestro:needs-attention")


def test_sigterm_stops_an_acp_agent_at_once_and_the_lane_resumes_later(
        sandbox: Any, claude_acp: Path, tmp_path: Path) -> None:
    model = FakeAnthropic([])
    model.script = [stall(model)]
    sandbox.add_issue("AC-4")
    sigterm_mid_turn(sandbox, "acp", claude_acp, model, tmp_path, "AC-4")
    assert sandbox.outcome("AC-4") == "interrupted"
    worktree = sandbox.repo / ".worktrees" / "AC-4"
    assert worktree.is_dir()  # kept for the resumed lane
    assert processes_in(worktree) == []


def test_an_acp_agent_lane_goes_through_one_repair_round_to_the_merge(
        sandbox: Any, claude_acp: Path, tmp_path: Path) -> None:
    """Handoff, a reviewer asks for changes, a repair session (the agent phase's ACP
    session, loaded: the model sees the earlier round) fixes and declares it over MCP, the
    approved PR merges with the repaired file."""
    fix = "printf 'Hello\\n' >> notes/AC-5.md && git commit -qam 'AC-5: say Hello'"
    model = FakeAnthropic([
        bash(COMMIT.replace("AC-1", "AC-5")),
        tool(mcp("lane_open_pr"), {"title": "AC-5: add notes", "body": "Adds notes"}),
        tool(mcp("issue_review_handoff"), pr_url),
        tool(mcp("issue_terminal_finalize"), {"path": "review_handoff"}),
        text("Handed off."),
    ], repair=[
        bash(fix),
        tool(mcp("issue_review_repair_complete"),
             {"pr_url": "local://origin/pulls/1", "summary": "Said Hello"}),
        tool(mcp("issue_terminal_finalize"), {"path": "review_repair"}),
        text("Repaired."),
    ])
    sandbox.add_issue("AC-5", title="Add notes for AC-5")
    run_lane(sandbox, claude_acp, model, tmp_path, "AC-5")
    assert sandbox.issue("AC-5").state == "In Review"
    sandbox.maestro("review", "request-changes", "AC-5", "--author", "alice",
                    "--comment", "the notes must say Hello", check=True)
    run_lane(sandbox, claude_acp, model, tmp_path, "AC-5")
    repair = sandbox.lane_file("AC-5", "repairs/01-turns/0001.json")
    assert repair["signals"]["repair_complete"]["summary"] == "Said Hello"
    assert repair["thread_id"] == sandbox.lane_file("AC-5", "turns/0001.json")["thread_id"]
    asked = [r for r in model.requests if REPAIR_MARK in json.dumps(r["messages"])]
    assert asked and "Written over ACP." in json.dumps(asked[0]["messages"])  # round 1's
    sandbox.maestro("review", "approve", "AC-5", "--author", "alice", check=True)
    run_lane(sandbox, claude_acp, model, tmp_path, "AC-5")
    assert sandbox.outcome("AC-5") == "finished"
    assert "Hello" in (sandbox.origin_file("notes/AC-5.md") or "")
