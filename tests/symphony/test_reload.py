"""A changed WORKFLOW.md applies on the next tick without a restart (Symphony SPEC.md §6.2)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from maestro.config.service import ServiceConfig
from maestro.orchestration.orchestrator import Orchestrator
from maestro.trackers.files import FilesTracker


def test_an_edited_workflow_applies_to_the_next_tick(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    tracker = FilesTracker(tmp_path / "issues", "X")
    for n in (1, 2, 3):
        tracker.create(f"task {n}", "", identifier=f"X-{n}")
    workflow = tmp_path / "WORKFLOW.md"
    workflow.write_text("+++\n[execution]\nmax_concurrent_agents = 1\n+++\n")
    orchestrator = Orchestrator(ServiceConfig().resolved(tmp_path))
    assert len(orchestrator.plan(dry_run=True).dispatches) == 1
    workflow.write_text("---\nagent:\n  max_concurrent_agents: 3\n---\n")
    assert len(orchestrator.plan(dry_run=True).dispatches) == 3
