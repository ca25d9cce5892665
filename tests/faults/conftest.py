"""The fault matrix: each test is one row (phase x fault -> outcome); the session prints the
table, and writes it to ``docs/reliability.md`` when ``MAESTRO_RELIABILITY_DOC`` names it.

The kill -9 rows of ``tests/test_resume.py`` are the matrix's original rows; when they run
in the same session their results are folded into the table instead of being run twice.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.faults.matrix import (
    DELIVERED_ONCE,
    RESUME_POINTS,
    FaultBox,
    Row,
    reference,
    render_table,
    write_reliability_doc,
)


@pytest.fixture(autouse=True)
def _matrix_row(request: pytest.FixtureRequest) -> None:
    callspec = getattr(request.node, "callspec", None)
    found = [v for v in (callspec.params.values() if callspec else ()) if isinstance(v, Row)]
    fixed = getattr(request.function, "matrix_row", None)
    for value in [*found, *([fixed] if fixed else [])]:
        # Plain values: a report's properties cross process boundaries (pytest-xdist).
        request.node.user_properties.append(("matrix", (value.phase, value.fault,
                                                        value.expected)))


_results: list[tuple[Row, str]] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when != "call" and not (report.when == "setup" and report.outcome != "passed"):
        return
    for key, value in report.user_properties:
        if key == "matrix":
            _results.append((Row(*value), report.outcome))


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
                                 DELIVERED_ONCE), outcome))
    return rows


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


@pytest.fixture
def faultbox(sandbox: Any, tmp_path: Path) -> Iterator[FaultBox]:
    """The ``sandbox`` of tests/conftest.py, its lanes run through the fault harness."""
    yield FaultBox(sandbox, tmp_path)


@pytest.fixture(scope="package")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What the world observes after the reference lane ran without any fault."""
    return reference(tmp_path_factory.mktemp("uninterrupted"))
