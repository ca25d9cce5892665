"""Every lane file × {empty, truncated, garbage bytes}: reported once with its path, treated
as absent, never a traceback, and the lane carries on (the table in docs/reliability.md).

One sandbox holds a lane handed off for review; each case damages one file, runs
``maestro status``, ``maestro lane`` and ``maestro run --once``, then restores the lane."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Sandbox

LANE = "DMG-1"
#: Files of a lane in review, plus markers of later phases that a copy may leave behind.
FILES = ("lease.json", "workspace.json", "result.json", "validation.json", "pr.json",
         "review.json", "outcome.json", "activity.json", "holder.json", "turns/0001.json",
         "workflow.snapshot.md", "tools.jsonl", "journal.jsonl", "attention.json",
         "merge.json", "closeout.json", "cleanup.json", "phase-failures.json")
#: Rewritten by the lane process before anything reads it (the lock holder's record).
REWRITTEN = {"holder.json"}
DAMAGE = {
    "empty": lambda data: b"",
    "truncated": lambda data: data[: max(1, len(data) // 2)],
    "garbage": lambda data: b"\x00\xff\xfe\x80garbage\xc3(\n",
}


@pytest.fixture(scope="module")
def lane_in_review(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    box = Sandbox(tmp_path_factory.mktemp("damaged") / "sandbox")
    for path in (box.repo / "issues").glob("DEMO-*.md"):
        path.unlink()
    box.add_issue(LANE)
    box.lane(LANE)
    assert box.issue(LANE).state == "In Review"
    assert box.lane_file(LANE, "pr.json") is not None
    yield box


@pytest.fixture
def sandbox_copy(lane_in_review: Sandbox, tmp_path: Path) -> Iterator[Sandbox]:
    """The module's sandbox; its state folder and issue file are restored after the test."""
    box = lane_in_review
    backup = tmp_path / "backup"
    shutil.copytree(box.repo / ".maestro", backup / ".maestro", symlinks=True)
    issue = (box.repo / "issues" / f"{LANE}.md").read_bytes()
    yield box
    shutil.rmtree(box.repo / ".maestro")
    shutil.copytree(backup / ".maestro", box.repo / ".maestro", symlinks=True)
    (box.repo / "issues" / f"{LANE}.md").write_bytes(issue)


def no_traceback(*outputs: str) -> None:
    for output in outputs:
        assert "Traceback" not in output, output


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(DAMAGE))
@pytest.mark.parametrize("name", FILES)
def test_a_damaged_lane_file_stops_nothing(sandbox_copy: Sandbox, name: str,
                                           kind: str) -> None:
    box = sandbox_copy
    lane = box.repo / ".maestro" / "lanes" / LANE
    path = lane / name
    original = path.read_bytes() if path.exists() else b'{"present": true}\n'
    path.write_bytes(DAMAGE[kind](original))

    status = box.maestro("status", "--json")
    assert status.returncode == 0
    ran = box.maestro("lane", LANE, "--quiet")
    tick = box.maestro("run", "--once")
    assert tick.returncode == 0
    lane_log = box.repo / ".maestro" / "logs" / f"{LANE}.log"
    log = lane_log.read_text(errors="replace") if lane_log.exists() else ""
    no_traceback(status.stdout, status.stderr, ran.stdout, ran.stderr, tick.stdout,
                 tick.stderr, log)

    issue = box.issue(LANE)
    if name == "attention.json":
        # A damaged attention record is no attention record: the label decides.
        assert not issue.has_label("maestro:needs-attention")
    assert issue.state == "In Review"  # the lane still waits for its review
    if name.endswith(".json") and name not in REWRITTEN:
        assert f"{path}" in status.stderr + ran.stderr  # reported, naming the path
    pr = box.lane_file(LANE, "pr.json")
    assert pr is not None and pr["url"].startswith("local://")  # rebuilt when damaged
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "waiting (phase review)" in ran.stdout  # not the agent again, not "finished"
