"""Review repair is honest: a round without a commit is never "pushed", a spent budget takes
the attention path in the same run, a reviewer's thread is never resolved by maestro, and the
tokens of every repair session count."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from maestro.forges.local import LocalForge
from tests.conftest import Sandbox

pytestmark = pytest.mark.slow

SCRIPT = ("steps:\n  - write: {path: greeting.txt, content: \"hi\\nhi there\\n\"}\n"
         "  - commit: greet\n  - handoff: done\n")


def request_changes(box: Sandbox, identifier: str, *extra: str) -> None:
    box.maestro("review", "request-changes", identifier, "--author", "alice",
                "--comment", "line 2 must say Hello", *extra, check=True)


def attention_comments(box: Sandbox, identifier: str) -> list[str]:
    return [c.body for c in box.comments(identifier) if "needs a human" in c.body]


def test_a_repair_without_a_commit_is_not_pushed_and_asks_a_human_at_once(
        sandbox: Sandbox) -> None:
    sandbox.add_issue("RH-1", script=SCRIPT + "repair:\n  - repair_complete: \"nothing to do\"\n")
    sandbox.lane("RH-1")
    head = sandbox.lane_file("RH-1", "pr.json")["validated_head"]
    request_changes(sandbox, "RH-1")
    sandbox.lane("RH-1")
    assert sandbox.outcome("RH-1") == "needs_human"
    assert not any("pushed" in c.body for c in sandbox.comments("RH-1"))
    issue = sandbox.issue("RH-1")
    assert issue.state == "Todo" and "maestro:needs-attention" in issue.labels
    [comment] = attention_comments(sandbox, "RH-1")
    assert "without a new commit" in comment and "line 2 must say Hello" in comment
    record = sandbox.lane_file("RH-1", "pr.json")
    assert record["validated_head"] == head and record["repair_rounds"] == 0


def test_a_spent_repair_budget_takes_the_attention_path_in_the_same_run(
        sandbox: Sandbox) -> None:
    sandbox.edit_workflow("max_attempts = 3", "max_attempts = 3\nmax_repair_rounds = 1")
    sandbox.add_issue("RH-2", script=SCRIPT + (
        "repair:\n  - write: {path: unrelated.txt, content: \"x\\n\"}\n"
        "  - commit: unrelated\n  - repair_complete: \"addressed everything\"\n"))
    sandbox.lane("RH-2")
    request_changes(sandbox, "RH-2", "--file", "greeting.txt", "--line", "2")
    sandbox.lane("RH-2")
    assert sandbox.outcome("RH-2") == "needs_human"
    assert sandbox.lane_file("RH-2", "pr.json")["repair_rounds"] == 1
    [comment] = attention_comments(sandbox, "RH-2")
    assert "after 1 repair rounds" in comment
    assert "greeting.txt:2" in comment  # the reviewer's open request, named
    assert "maestro:needs-attention" in sandbox.issue("RH-2").labels


def test_a_repair_that_misses_the_reviewers_lines_leaves_the_thread_open(
        sandbox: Sandbox) -> None:
    sandbox.add_issue("RH-3", script=SCRIPT + (
        "repair:\n  - write: {path: unrelated.txt, content: \"x\\n\"}\n"
        "  - commit: unrelated\n  - repair_complete: \"addressed everything\"\n"))
    sandbox.lane("RH-3")
    request_changes(sandbox, "RH-3", "--file", "greeting.txt", "--line", "2")
    sandbox.lane("RH-3")
    pr = LocalForge(sandbox.repo, "origin").find_pr("maestro/rh-3")
    assert pr is not None
    assert [(t.path, t.line, t.resolved) for t in pr.threads] == [("greeting.txt", 2, False)]
    assert sandbox.lane_file("RH-3", "review.json")["signals"]["unresolved_threads"] == 1


def test_a_lanes_token_total_grows_with_each_repair_session(sandbox: Sandbox) -> None:
    sandbox.add_issue("RH-4", script=SCRIPT + (
        "repair:\n  - append: {path: greeting.txt, content: \"Hello\\n\"}\n"
        "  - commit: hello\n  - repair_complete: fixed\n"))

    def lane_status() -> dict[str, object]:
        status = json.loads(sandbox.maestro("status", "--json", check=True).stdout)
        return next(lane for lane in status["lanes"] if lane["issue"] == "RH-4")

    sandbox.lane("RH-4")
    before = lane_status()
    request_changes(sandbox, "RH-4")
    sandbox.lane("RH-4")
    after = lane_status()
    assert isinstance(before["tokens"], dict) and isinstance(after["tokens"], dict)
    assert after["tokens"]["totalTokens"] > before["tokens"]["totalTokens"] > 0
    sessions = after["token_sessions"]
    assert isinstance(sessions, list)
    assert [s["phase"] for s in sessions] == ["agent", "repair"]
    assert sum(s["tokens"]["totalTokens"] for s in sessions) == after["tokens"]["totalTokens"]
    lane = sandbox.repo / ".maestro" / "lanes" / "RH-4"
    assert (lane / "turns" / "0001.json").exists()
    assert (lane / "repairs" / "01-turns" / "0001.json").exists()


def test_the_next_round_names_the_untouched_thread_once_with_a_note(
        sandbox: Sandbox, tmp_path: Path) -> None:
    seen = tmp_path / "inputs.txt"
    sandbox.add_issue("RH-5", script=SCRIPT + (
        f"repair:\n  - save_input: {seen}\n  - write: {{path: unrelated.txt, content: \"x\\n\"}}\n"
        "  - commit: unrelated\n  - repair_complete: \"addressed everything\"\n"))
    sandbox.lane("RH-5")
    request_changes(sandbox, "RH-5", "--file", "greeting.txt", "--line", "2")
    sandbox.lane("RH-5")
    box_review = ("review", "request-changes", "RH-5", "--author", "alice", "--comment",
                  "still not Hello")
    sandbox.maestro(*box_review, check=True)
    sandbox.lane("RH-5")
    first, second = [p for p in seen.read_text().split("\n---\n") if p.strip()]
    assert first.count("line 2 must say Hello") == 1  # one inline comment, listed once
    assert ("unresolved thread at greeting.txt:2: line 2 must say Hello\n"
            "  still open: the last round did not touch greeting.txt") in second
    assert "It changed none of the files the feedback named (greeting.txt)" in second
    journal = [json.loads(line) for line in
               (sandbox.repo / ".maestro/lanes/RH-5/journal.jsonl").read_text().splitlines()]
    # The scripted agent keeps no thread between sessions: each round falls back, journaled.
    assert [e["event"] for e in journal if e["event"].startswith("thread_")] == [
        "thread_resume_failed", "thread_resume_failed"]

