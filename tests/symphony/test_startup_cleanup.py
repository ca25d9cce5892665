"""The loop's startup sweep of terminal issues' workspaces (Symphony SPEC.md §8.6)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from maestro.config.workflow import load_workflow
from maestro.observability import logs
from maestro.orchestration.orchestrator import Orchestrator
from maestro.orchestration.startup import sweep_terminal_workspaces
from tests.conftest import Sandbox


def worktree(box: Sandbox, identifier: str) -> Path:
    path = box.repo / ".worktrees" / identifier
    subprocess.run(["git", "worktree", "add", "-q", "-b", f"maestro/{identifier.lower()}",
                    str(path)], cwd=box.repo, check=True)
    return path


def branch_exists(box: Sandbox, name: str) -> bool:
    return subprocess.run(["git", "rev-parse", "--verify", "-q", f"refs/heads/{name}"],
                          cwd=box.repo, capture_output=True, check=False).returncode == 0


def test_the_daemon_removes_terminal_issues_workspaces_when_it_starts(sandbox: Sandbox) -> None:
    sandbox.add_issue("DEMO-7", state="Done")
    sandbox.add_issue("DEMO-8", state="Backlog")
    done, parked = worktree(sandbox, "DEMO-7"), worktree(sandbox, "DEMO-8")
    Orchestrator(sandbox.config).daemon(0.01, max_ticks=1)
    assert not done.exists() and parked.is_dir()
    assert branch_exists(sandbox, "maestro/demo-7")  # the agent's commits are kept


def test_a_tracker_that_cannot_be_read_does_not_stop_the_start(
        sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LINEAR_API_KEY", raising=False)
    sandbox.edit_workflow('provider = "files"', 'provider = "linear"\nproject_slug = "p"')
    config = sandbox.config
    swept = sweep_terminal_workspaces(config, load_workflow(config.workflow_path), {})
    assert swept == []
    assert "startup_cleanup_failed" in logs.log_path(config).read_text()
