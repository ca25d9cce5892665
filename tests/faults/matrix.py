"""The fault matrix's vocabulary: rows, the harness-driven sandbox, the reference run.

Kept out of ``conftest.py`` so that tests and the conftest share one copy of each class
(pytest imports a conftest under its own module name).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.conftest import REPO_ROOT, Sandbox
from tests.test_resume import SCRIPT, drive_to_end

#: The phase each of test_resume.py's kill points belongs to, and where in it the kill lands.
RESUME_POINTS = {
    "claim:before": ("claim", "before the lease write"),
    "prepare:after": ("prepare", "after the worktree, before its record"),
    "agent:started": ("agent", "after the start comment, before the agent"),
    "agent:after": ("agent", "after the agent, before result.json"),
    "validate:after": ("validate", "after the commands, before validation.json"),
    "handoff:pushed": ("handoff", "after the push"),
    "handoff:transitioned": ("handoff", "after the In Review transition"),
    "handoff:after": ("handoff", "after the completion comment, before pr.json"),
    "repair:agent-done": ("review ⟲ repair", "after the repair agent, before the push"),
    "repair:pushed": ("review ⟲ repair", "after the repair push"),
    "repair:recorded": ("review ⟲ repair", "after the repair comment and pr.json"),
    "land:after": ("land", "after the merge, before merge.json"),
    "closeout:transitioned": ("closeout", "after the Done transition"),
    "closeout:after": ("closeout", "after the closeout comment, before closeout.json"),
    "cleanup:after": ("cleanup", "after worktree and branch removal"),
}
RESUMED = "resumed to the uninterrupted end state; nothing repeated"
#: What tests/test_resume.py checks for its rows (one of each comment, PR and merge; Done).
DELIVERED_ONCE = ("resumed; delivered once (one start, completion and closeout comment, one PR, "
                  "one merge)")
PHASE_ORDER = ["claim", "prepare", "agent", "validate", "handoff", "review ⟲ repair", "land",
               "closeout", "cleanup", "retry queue", "any write"]


F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Row:
    """One matrix row; ``expected`` is the outcome the test asserts."""

    phase: str
    fault: str
    expected: str


def row(phase: str, fault: str, expected: str, *marks: Any) -> Any:
    """A ``pytest.param`` carrying its matrix row; the id reads like the row."""
    ident = re.sub(r"[^\w:.-]+", "-", f"{phase}-{fault}").strip("-")
    return pytest.param(Row(phase, fault, expected), id=ident, marks=marks)


def matrix(phase: str, fault: str, expected: str) -> Callable[[F], F]:
    """Mark a single (not parametrized) test as one matrix row."""

    def mark(test: F) -> F:
        test.matrix_row = Row(phase, fault, expected)  # type: ignore[attr-defined]
        return test

    return mark


def render_table(results: list[tuple[Row, str]]) -> str:
    def order(item: tuple[Row, str]) -> tuple[int, str]:
        phase = item[0].phase
        return (PHASE_ORDER.index(phase) if phase in PHASE_ORDER else 99, item[0].fault)

    lines = ["| phase | fault | outcome | result |", "| --- | --- | --- | --- |"]
    for matrix_row, outcome in sorted(results, key=order):
        mark = "pass" if outcome == "passed" else f"**{outcome.upper()}**"
        lines.append(f"| {matrix_row.phase} | {matrix_row.fault} | {matrix_row.expected} | "
                     f"{mark} |")
    return "\n".join(lines)


def write_reliability_doc(path: Path, table: str, count: int) -> None:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT,
                            capture_output=True, text=True, check=False).stdout.strip()
    text = path.read_text() if path.exists() else ""
    begin, end = "<!-- fault-matrix:begin -->", "<!-- fault-matrix:end -->"
    stamp = (f"Measured {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on commit `{commit}` "
             f"({count} rows).")
    block = f"{begin}\n{stamp}\n\n{table}\n{end}"
    if begin in text and end in text:
        text = text[: text.index(begin)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text)


# -- running lanes through the harness ------------------------------------------------------

HARNESS = Path(__file__).with_name("harness.py")


class FaultBox:
    """A sandbox whose lanes run through ``harness.py`` with the row's faults configured.

    It quacks like ``tests.conftest.Sandbox`` so ``tests/test_resume.py``'s driver and
    assertions are reused unchanged."""

    def __init__(self, sandbox: Any, tmp_path: Path) -> None:
        self._box = sandbox
        self.flag = tmp_path / "fired"
        self.effects_log = tmp_path / "effects.jsonl"
        self.env: dict[str, str] = {"MAESTRO_TEST_FLAG": str(self.flag),
                                    "MAESTRO_FAULT_ONCE": str(self.flag),
                                    "MAESTRO_TEST_EFFECTS": str(self.effects_log)}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._box, name)

    def lane(self, identifier: str, env: dict[str, str] | None = None,
             **kw: Any) -> subprocess.CompletedProcess[str]:
        merged = {**os.environ, **self.env, **(env or {}),
                  "PYTHONPATH": str(REPO_ROOT)}
        return subprocess.run([sys.executable, str(HARNESS), "lane", identifier, "--quiet"],
                              cwd=self._box.repo, capture_output=True, text=True,
                              timeout=kw.get("timeout", 120), env=merged)

    def effects(self) -> list[dict[str, Any]]:
        import json

        if not self.effects_log.exists():
            return []
        return [json.loads(line) for line in self.effects_log.read_text().splitlines()]


# -- the reference run and what is compared with it ----------------------------------------

PUSH_LOG = "maestro-pushes.log"


def install_push_log(origin: Path) -> None:
    """A post-receive hook in the bare origin that records every ref update it accepts."""
    hook = origin / "hooks" / "post-receive"
    hook.write_text(f"#!/bin/sh\ncat >> {PUSH_LOG}\n")
    hook.chmod(0o755)


def pushes(origin: Path) -> list[str]:
    log = origin / PUSH_LOG
    return log.read_text().splitlines() if log.exists() else []


def signature(box: FaultBox, identifier: str) -> dict[str, Any]:
    """Everything the world can observe of a delivered lane, minus run ids and times."""
    issue = box.issue(identifier)
    pulls = sorted((box.origin / "maestro-forge" / "pulls").glob("*.json"))
    pushed_commits = [line.split()[1] for line in pushes(box.origin)]
    return {
        "state": issue.state,
        "labels": sorted(issue.labels),
        "effects": [(e["effect"], e["args"]) for e in box.effects()],
        "prs": [json.loads(p.read_text())["state"] for p in pulls],
        "merges": sum(1 for s in box.origin_log() if s.startswith("Merge pull request")),
        "feature": box.origin_file("feature.txt"),
        "pushes_of_one_commit": max(
            (pushed_commits.count(c) for c in pushed_commits), default=0),
    }


def deliver_script(box: FaultBox, identifier: str, script: str) -> list[int]:
    """Run a lane with ``script`` to the end, approving it when it waits for review."""
    install_push_log(box.origin)
    box.add_issue(identifier, script=script)
    return drive_to_end(box, identifier, {}, request_changes=False)  # type: ignore[arg-type]


def deliver(box: FaultBox, identifier: str) -> list[int]:
    install_push_log(box.origin)
    box.add_issue(identifier, script=SCRIPT)
    return drive_to_end(box, identifier, {}, request_changes=True)  # type: ignore[arg-type]


def reference(tmp: Path) -> dict[str, Any]:
    """The same lane, with a review round, run without any fault."""
    sandbox = Sandbox(tmp / "sandbox")
    for path in (sandbox.repo / "issues").glob("DEMO-*.md"):
        path.unlink()
    box = FaultBox(sandbox, tmp)
    deliver(box, "RES-1")
    return signature(box, "RES-1")
