"""Repair rounds with the real ``codex app-server``, offline: the lane's thread is resumed.

The loopback model picks its next step from the thread's history (``fake_model.taken``), so
a repair round that ran on a new thread would start the script over (commit the notes and
open a PR again); on the resumed thread it goes on where the last round stopped, and the
model server sees every earlier round's messages in the request.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .fake_model import FakeModel, call, message, serve
from .helpers import read_jsonl
from .test_codex_e2e import COMMIT, pr_url, use_codex

pytestmark = [pytest.mark.codex, pytest.mark.slow]


def fix(n: int) -> str:
    return (f"printf 'fix {n}\\n' >> notes/E2E-1.md && git add notes && "
            f"git commit -q -m 'review fix {n}'")


def repair(n: int) -> list[Any]:
    return [call("exec_command", {"cmd": fix(n)}),
            call("issue_review_repair_complete",
                 lambda body: {"pr_url": "local://origin/pulls/1", "summary": f"fix {n}"}),
            call("issue_terminal_finalize", {"path": "review_repair"}),
            message(f"Repair round {n} done.")]


def test_the_second_repair_round_runs_on_the_same_codex_thread(sandbox: Any, codex: Path,
                                                               tmp_path: Path) -> None:
    model = FakeModel([
        call("exec_command", {"cmd": COMMIT}),
        call("lane_open_pr", {"title": "E2E-1: add notes", "body": "Adds notes/E2E-1.md"}),
        call("issue_review_handoff", pr_url),
        call("issue_terminal_finalize", {"path": "review_handoff"}),
        message("Handed off."),
        *repair(1), *repair(2),
    ])
    sandbox.add_issue("E2E-1", title="Add notes for E2E-1")
    with serve(model):
        use_codex(sandbox, model, codex, tmp_path)
        sandbox.lane("E2E-1", timeout=180)
        for n in (1, 2):
            sandbox.maestro("review", "request-changes", "E2E-1", "--author", "alice",
                            "--comment", f"say more ({n})", check=True)
            sandbox.lane("E2E-1", timeout=180)
            assert sandbox.lane_file("E2E-1", "pr.json")["repair_rounds"] == n
    first = sandbox.lane_file("E2E-1", "result.json")["thread_id"]
    assert first and sandbox.lane_file("E2E-1", "thread.json")["thread_id"] == first
    journal = read_jsonl(Path(sandbox.repo) / ".maestro/lanes/E2E-1/journal.jsonl")
    resumed = [e["thread_id"] for e in journal if e.get("event") == "thread_resumed"]
    assert resumed == [first, first]
    assert not [e for e in journal if e.get("event") == "thread_resume_failed"]
    last = str(model.requests[-1]["input"])
    assert "say more (1)" in last and "Repair round 1 done." in last  # round 1, remembered
    assert "The last repair round (round 1) pushed:" in last and "review fix 1" in last
    assert "say more (2)" in last
    # codex reports the whole thread's totals on a resumed thread; each session counts
    # only its own requests (120 tokens each: 5 for the handoff, 4 per repair round).
    sessions = sandbox.lane_file("E2E-1", "tokens.json")["sessions"].values()
    assert sorted(s["tokens"]["totalTokens"] for s in sessions) == [480, 480, 600]
