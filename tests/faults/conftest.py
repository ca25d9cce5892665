"""The fault matrix: each test is one row (phase x fault -> outcome); the session prints the
table, and writes it to ``docs/reliability.md`` when ``MAESTRO_RELIABILITY_DOC`` names it.

The kill -9 rows of ``tests/test_resume.py`` are the matrix's original rows; when they run
in the same session their results are folded into the table instead of being run twice.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO_ROOT

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
    "repair:recorded": ("review ⟲ repair", "after pr.json, before the repair comment"),
    "land:after": ("land", "after the merge, before merge.json"),
    "closeout:transitioned": ("closeout", "after the Done transition"),
    "closeout:after": ("closeout", "after the closeout comment, before closeout.json"),
    "cleanup:after": ("cleanup", "after worktree and branch removal"),
}
RESUMED = "resumed to the uninterrupted end state; nothing repeated"
PHASE_ORDER = ["claim", "prepare", "agent", "validate", "handoff", "review ⟲ repair", "land",
               "closeout", "cleanup", "retry queue", "any write"]


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


@pytest.fixture(autouse=True)
def _matrix_row(request: pytest.FixtureRequest) -> None:
    callspec = getattr(request.node, "callspec", None)
    for value in (callspec.params.values() if callspec else ()):
        if isinstance(value, Row):
            request.node.user_properties.append(("matrix", value))


_results: list[tuple[Row, str]] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when != "call" and not (report.when == "setup" and report.outcome != "passed"):
        return
    for key, value in report.user_properties:
        if key == "matrix":
            _results.append((value, report.outcome))


def _resume_rows(reporter: Any) -> list[tuple[Row, str]]:
    rows = []
    for outcome in ("passed", "failed"):
        for report in reporter.stats.get(outcome, []):
            nodeid = getattr(report, "nodeid", "")
            if getattr(report, "when", "") != "call" or "test_resume.py::test_lane_killed_at" \
                    not in nodeid:
                continue
            point = nodeid.rsplit("[", 1)[-1].rstrip("]")
            if point in RESUME_POINTS:
                phase, where = RESUME_POINTS[point]
                rows.append((Row(phase, f"kill -9 {where} (`{point}`, test_resume.py)",
                                 RESUMED), outcome))
    return rows


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


def pytest_terminal_summary(terminalreporter: Any) -> None:
    results = _resume_rows(terminalreporter) + list(_results)
    if not results:
        return
    table = render_table(results)
    terminalreporter.write_sep("=", "fault matrix (phase x fault -> outcome)")
    terminalreporter.write_line(table)
    doc = os.environ.get("MAESTRO_RELIABILITY_DOC")
    if doc:
        write_reliability_doc(Path(doc), table, len(results))


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
        return subprocess.run(["python", str(HARNESS), "lane", identifier, "--quiet"],
                              cwd=self._box.repo, capture_output=True, text=True,
                              timeout=kw.get("timeout", 120), env=merged,
                              executable=_python())

    def effects(self) -> list[dict[str, Any]]:
        import json

        if not self.effects_log.exists():
            return []
        return [json.loads(line) for line in self.effects_log.read_text().splitlines()]


def _python() -> str:
    import sys

    return sys.executable


@pytest.fixture
def faultbox(sandbox: Any, tmp_path: Path) -> Iterator[FaultBox]:
    yield FaultBox(sandbox, tmp_path)


Driver = Callable[..., list[int]]
