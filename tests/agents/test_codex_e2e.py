"""A whole lane with the real ``codex app-server``, offline, through ``maestro lane``.

A loopback server plays the model (see ``fake_model.py``): it has codex run a shell command
that writes and commits a file in the lane worktree, then call maestro's dynamic tools
``lane_open_pr``, ``issue_review_handoff`` and ``issue_terminal_finalize``, then end the
turn. codex is pointed at the server through ``config.toml`` in a temporary ``HOME``, passed
by the ``[agent] command`` (``env HOME=… CODEX_HOME=… codex app-server``).
"""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest

from .fake_model import FakeModel, call, message, serve, stall
from .helpers import configure_service, read_jsonl

pytestmark = [pytest.mark.codex, pytest.mark.slow]

#: No identity of its own: with HOME moved, codex's git has no user.name; maestro always
#: gives the agent GIT_AUTHOR_*/GIT_COMMITTER_*, so the commit still works.
COMMIT = ("mkdir -p notes && printf '# E2E-1\\n\\nWritten by codex.\\n' > notes/E2E-1.md && "
          "git add notes && git commit -q -m 'E2E-1: add notes'")


def pr_url(body: dict[str, Any]) -> dict[str, str]:
    found = re.findall(r"local://[\w.-]+/pulls/\d+", str(body.get("input")))
    return {"pr_url": found[-1] if found else "missing", "summary": "Added notes/E2E-1.md"}


def agent_command(codex: Path, home: Path) -> str:
    return " ".join(shlex.quote(part) for part in [
        "env", f"HOME={home}", f"CODEX_HOME={home / '.codex'}", str(codex), "app-server"])


def use_codex(sandbox: Any, model: FakeModel, codex: Path, tmp_path: Path,
              policies: dict[str, str] | None = None, **agent: Any) -> None:
    """Make the sandbox's lanes run the real ``codex``, whose isolated HOME sends it to
    ``model`` (``policies``: :meth:`FakeModel.codex_home`'s); ``agent``: further ``[agent]``
    keys."""
    home = tmp_path / "codex-home"
    model.codex_home(home, **(policies or {}))
    configure_service(sandbox.repo, agent={"command": agent_command(codex, home), **agent})


def test_real_codex_runs_a_lane_to_review_handoff(sandbox: Any, codex: Path,
                                                  tmp_path: Path) -> None:
    model = FakeModel([
        call("exec_command", {"cmd": COMMIT}),
        call("lane_open_pr", {"title": "E2E-1: add notes", "body": "Adds notes/E2E-1.md"}),
        call("issue_review_handoff", pr_url),
        call("issue_terminal_finalize", {"path": "review_handoff"}),
        message("Opened the PR and handed it off for review."),
    ])
    sandbox.add_issue("E2E-1", title="Add notes for E2E-1")
    with serve(model):
        use_codex(sandbox, model, codex, tmp_path)
        proc = sandbox.lane("E2E-1", timeout=180)
    result = sandbox.lane_file("E2E-1", "result.json")
    assert result is not None, proc.stderr
    assert result["disposition"] == "review_handoff", result
    assert result["turns"] == 1
    assert result["tokens"]["totalTokens"] >= 120 * 5
    assert sandbox.issue("E2E-1").state == "In Review"
    pr = sandbox.lane_file("E2E-1", "pr.json")
    assert pr["url"] == "local://origin/pulls/1"
    shown = subprocess.run(["git", "show", f"{pr['validated_head']}:notes/E2E-1.md"],
                           cwd=sandbox.origin, capture_output=True, text=True, check=True)
    assert "Written by codex." in shown.stdout
    first = model.requests[0]
    offered = {tool.get("name") for tool in first["tools"]}
    assert {"lane_open_pr", "issue_review_handoff", "issue_terminal_finalize"} <= offered
    assert "maestro tool contract" in str(first["input"])


def test_real_codex_continuation_turn_on_the_same_thread(sandbox: Any, codex: Path,
                                                         tmp_path: Path) -> None:
    """Turn 1 ends without a terminal signal; turn 2 gets continuation guidance and hands off."""
    model = FakeModel([
        message("I looked around; I will make the change next turn."),
        call("exec_command", {"cmd": COMMIT}),
        call("lane_open_pr", {"title": "E2E-1: add notes", "body": "Adds notes/E2E-1.md"}),
        call("issue_review_handoff", pr_url),
        call("issue_terminal_finalize", {"path": "review_handoff"}),
        message("Handed off."),
    ])
    sandbox.add_issue("E2E-1", title="Add notes for E2E-1")
    sandbox.edit_workflow("max_turns = 10", "max_turns = 3")
    with serve(model):
        use_codex(sandbox, model, codex, tmp_path)
        sandbox.lane("E2E-1", timeout=180)
    result = sandbox.lane_file("E2E-1", "result.json")
    assert result["disposition"] == "review_handoff", result
    assert result["turns"] == 2
    first = sandbox.lane_file("E2E-1", "turns/0001.json")
    second = sandbox.lane_file("E2E-1", "turns/0002.json")
    assert first["thread_id"] == second["thread_id"] == result["thread_id"]
    assert "Continue working on E2E-1 (turn 2 of 3)" in str(model.requests[-1]["input"])
    assert sandbox.issue("E2E-1").state == "In Review"


def test_real_codex_waiting_on_a_silent_model_is_a_stall(sandbox: Any, codex: Path,
                                                         tmp_path: Path) -> None:
    model = FakeModel([])
    model.script = [stall(model)]
    sandbox.add_issue("E2E-2")
    with serve(model):
        use_codex(sandbox, model, codex, tmp_path, idle_timeout_s=2.0)
        sandbox.lane("E2E-2", timeout=180)
    result = sandbox.lane_file("E2E-2", "result.json")
    assert result["error_class"] == "stalled"
    assert result["retryable"] is False
    assert sandbox.issue("E2E-2").has_label("maestro:needs-attention")


def test_real_codex_approval_request_is_declined_and_the_turn_goes_on(
        sandbox: Any, codex: Path, tmp_path: Path) -> None:
    """With ``approval_policy = "on-request"`` an escalated command makes codex ask maestro;
    maestro declines, codex reports the refusal to the model, and the turn continues to a
    manual-attention finish."""
    outside = tmp_path / "escalated.txt"
    model = FakeModel([
        call("exec_command", {"cmd": f"touch {outside}", "justification": "need it",
                              "sandbox_permissions": "require_escalated"}),
        call("issue_label_add", {"label": "maestro:needs-attention"}),
        call("issue_comment", {"body": "Blocked: writing outside the worktree was declined."}),
        call("issue_terminal_finalize", {"path": "manual_attention"}),
        message("Asked for a human."),
    ])
    sandbox.add_issue("E2E-3")
    with serve(model):
        use_codex(sandbox, model, codex, tmp_path,
                  policies={"approval_policy": "on-request", "sandbox_mode": "read-only"})
        sandbox.lane("E2E-3", timeout=180)
    journal = read_jsonl(Path(sandbox.repo) / ".maestro/lanes/E2E-3/journal.jsonl")
    declined = [e for e in journal if e.get("event") == "approval_declined"]
    assert [e["method"] for e in declined] == ["item/commandExecution/requestApproval"]
    assert not outside.exists()
    assert "rejected" in str(model.requests[1]["input"])
    result = sandbox.lane_file("E2E-3", "result.json")
    assert result["disposition"] == "manual_attention", result
