"""Whole lanes with the real Claude Code (``[agent] transport = "claude-code"``), offline.

A loopback server plays the model (``fake_anthropic.py``): it has ``claude`` run shell
commands in the lane worktree, then call maestro's issue tools over MCP
(``mcp__maestro__…``), then end the turn. ``claude`` reaches the server through
``ANTHROPIC_BASE_URL``, which the operator passes with ``[agent] env_passthrough`` like the
model key; its own state goes to ``CLAUDE_CONFIG_DIR`` in the test's folder.
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

COMMIT = ("mkdir -p notes && printf '# CC-1\\n\\nWritten by claude.\\n' > notes/CC-1.md && "
          "git add notes && git commit -q -m 'CC-1: add notes'")


def run_lane(sandbox: Any, claude: Path, model: FakeAnthropic, tmp_path: Path, issue: str,
             **agent: Any) -> subprocess.CompletedProcess[str]:
    return run_any_lane(sandbox, "claude-code", claude, model, tmp_path, issue, **agent)


def test_real_claude_works_a_lane_to_review_handoff_over_two_turns(
        sandbox: Any, claude: Path, tmp_path: Path) -> None:
    """Turn 1 ends without a terminal signal; turn 2 resumes the same session, edits,
    commits and calls the PR, handoff and finalize tools over MCP."""
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    model = FakeAnthropic([
        text("I looked around; the change comes next turn."),
        bash(dump_envs(dumps)),
        bash(COMMIT),
        tool(mcp("lane_open_pr"), {"title": "CC-1: add notes", "body": "Adds notes"}),
        observing(dumps / "mcp.env", tool(mcp("issue_review_handoff"), pr_url)),
        tool(mcp("issue_terminal_finalize"), {"path": "review_handoff"}),
        text("Opened the PR and handed it off for review."),
    ])
    sandbox.add_issue("CC-1", title="Add notes for CC-1")
    sandbox.edit_workflow("max_turns = 10", "max_turns = 3")
    proc = run_lane(sandbox, claude, model, tmp_path, "CC-1")
    result = sandbox.lane_file("CC-1", "result.json")
    assert result is not None, proc.stderr
    assert result["disposition"] == "review_handoff", result
    assert result["turns"] == 2
    first, second = (sandbox.lane_file("CC-1", f"turns/000{n}.json") for n in (1, 2))
    assert first["thread_id"] == second["thread_id"] == result["thread_id"]
    assert "Continue working on CC-1 (turn 2 of 3)" in json.dumps(model.requests[-1])
    assert "Add notes for CC-1" in json.dumps(model.requests[-1]["messages"])  # resumed
    assert result["tokens"]["totalTokens"] == 7 * 120
    assert sandbox.issue("CC-1").state == "In Review"
    pr = sandbox.lane_file("CC-1", "pr.json")
    shown = subprocess.run(["git", "show", f"{pr['validated_head']}:notes/CC-1.md"],
                           cwd=sandbox.origin, capture_output=True, text=True, check=True)
    assert "Written by claude." in shown.stdout
    offered = {t.get("name") for t in model.requests[0]["tools"]}
    assert {mcp("lane_open_pr"), mcp("issue_review_handoff"), "Bash"} <= offered
    assert "maestro tool contract" in json.dumps(model.requests[0]["system"])
    assert b"MAESTRO_ISSUE=CC-1" in (dumps / "mcp.env").read_bytes()  # the server was found
    for name in ("agent.env", "mcp.env"):
        env = (dumps / name).read_bytes().decode(errors="replace")
        assert not [k for k, v in SECRETS.items() if k in env or v in env], name


KILL_CLAUDE = kill_ancestor("--input-forma", "t")  # the agent kills its own process


def test_a_claude_turn_killed_before_its_result_still_counts_the_requests_it_made(
        sandbox: Any, claude: Path, tmp_path: Path) -> None:
    model = FakeAnthropic([bash("echo one"), bash(KILL_CLAUDE), text("never asked")])
    sandbox.add_issue("CC-9")
    run_lane(sandbox, claude, model, tmp_path, "CC-9")
    result = sandbox.lane_file("CC-9", "result.json")
    assert result["error_class"] == "process_exited", result
    assert len(model.requests) == 2
    assert result["tokens"]["inputTokens"] >= 2 * 100  # both requests' prompts
    ledger = sandbox.lane_file("CC-9", "tokens.json")["sessions"]
    assert [entry["tokens"]["inputTokens"] for entry in ledger.values()] == [
        result["tokens"]["inputTokens"]]


def test_a_claude_turn_is_stopped_at_the_request_that_reaches_the_token_ceiling(
        sandbox: Any, claude: Path, tmp_path: Path) -> None:
    model = FakeAnthropic([bash("echo one"), bash("echo two"), bash("echo three"),
                           bash("touch late.txt"), text("never asked")])
    sandbox.add_issue("CC-10")
    sandbox.edit_workflow("[forge]", "[budget]\nmax_tokens_per_run = 250\n\n[forge]")
    run_lane(sandbox, claude, model, tmp_path, "CC-10")
    result = sandbox.lane_file("CC-10", "result.json")
    assert result["error_class"] == "budget_exceeded", result
    assert len(model.requests) == 3  # the third request reached 250: no fourth was made
    assert not (sandbox.repo / ".worktrees" / "CC-10" / "late.txt").exists()
    comment = [c.body for c in sandbox.comments("CC-10") if "needs a human" in c.body]
    assert len(comment) == 1 and "the agent's turn was stopped" in comment[0]


def test_real_claude_naming_another_issue_is_refused_and_ends_the_session(
        sandbox: Any, claude: Path, tmp_path: Path) -> None:
    model = FakeAnthropic([
        tool(mcp("issue_comment"), {"body": "hi", "issue": "OTHER-9"}),
        text("should never be asked"),
    ])
    sandbox.add_issue("CC-2")
    run_lane(sandbox, claude, model, tmp_path, "CC-2")
    assert sandbox.outcome("CC-2") == "needs_human"
    failure = [c.body for c in sandbox.comments("CC-2") if "needs a human" in c.body]
    assert len(failure) == 1 and "issue_comment(body='hi', issue='OTHER-9')" in failure[0]
    assert "policy_violation" in failure[0]
    assert len(model.requests) == 1  # the session ended with the refused call
    tools = read_jsonl(Path(sandbox.repo) / ".maestro/lanes/CC-2/tools.jsonl")
    assert [(t["tool"], t["ok"]) for t in tools] == [("issue_comment", False)]


def test_real_claude_waiting_on_a_silent_model_is_a_stall(
        sandbox: Any, claude: Path, tmp_path: Path) -> None:
    model = FakeAnthropic([])
    model.script = [stall(model)]
    sandbox.add_issue("CC-3")
    run_lane(sandbox, claude, model, tmp_path, "CC-3", idle_timeout_s=3.0)
    result = sandbox.lane_file("CC-3", "result.json")
    assert result["error_class"] == "stalled"
    assert result["retryable"] is False
    assert sandbox.issue("CC-3").has_label("maestro:needs-attention")


def test_sigterm_stops_the_real_claude_at_once_and_the_lane_resumes_later(
        sandbox: Any, claude: Path, tmp_path: Path) -> None:
    model = FakeAnthropic([])
    model.script = [stall(model)]
    sandbox.add_issue("CC-4")
    sigterm_mid_turn(sandbox, "claude-code", claude, model, tmp_path, "CC-4")
    assert sandbox.outcome("CC-4") == "interrupted"
    worktree = sandbox.repo / ".worktrees" / "CC-4"
    assert worktree.is_dir()  # kept for the resumed lane
    assert processes_in(worktree) == []


def test_real_claude_lane_goes_through_one_repair_round_to_the_merge(
        sandbox: Any, claude: Path, tmp_path: Path) -> None:
    """Handoff, a reviewer asks for changes, a repair session (the agent phase's Claude
    session, resumed: the model sees the earlier round) fixes and declares it over MCP, the
    approved PR merges with the repaired file."""
    fix = ("printf 'Hello\\n' >> notes/CC-5.md && git commit -qam 'CC-5: say Hello'")
    model = FakeAnthropic([
        bash(COMMIT.replace("CC-1", "CC-5")),
        tool(mcp("lane_open_pr"), {"title": "CC-5: add notes", "body": "Adds notes"}),
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
    sandbox.add_issue("CC-5", title="Add notes for CC-5")
    run_lane(sandbox, claude, model, tmp_path, "CC-5")
    assert sandbox.issue("CC-5").state == "In Review"
    sandbox.maestro("review", "request-changes", "CC-5", "--author", "alice",
                    "--comment", "the notes must say Hello", check=True)
    run_lane(sandbox, claude, model, tmp_path, "CC-5")
    repair = sandbox.lane_file("CC-5", "repairs/01-turns/0001.json")
    assert repair["signals"]["repair_complete"]["summary"] == "Said Hello"
    assert repair["thread_id"] == sandbox.lane_file("CC-5", "turns/0001.json")["thread_id"]
    asked = [r for r in model.requests if REPAIR_MARK in json.dumps(r["messages"])]
    assert asked and "Handed off." in json.dumps(asked[0]["messages"])  # the earlier round
    sandbox.maestro("review", "approve", "CC-5", "--author", "alice", check=True)
    run_lane(sandbox, claude, model, tmp_path, "CC-5")
    assert sandbox.outcome("CC-5") == "finished"
    assert "Hello" in (sandbox.origin_file("notes/CC-5.md") or "")
