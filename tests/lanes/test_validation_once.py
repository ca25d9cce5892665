"""A lane's validation commands run once per head: the local forge's check (run in the same
lane process when the PR is first refreshed) takes the lane's clean run, and runs the
commands itself when the worktree held more than the commit (ignored files)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Sandbox

pytestmark = pytest.mark.slow

VALIDATION = 'validation_commands = ["python3 -m unittest -q test_hello"]'


def _places(count: Path) -> list[str]:
    """Where each run of the validation command ran (one ``pwd`` line per run)."""
    return count.read_text().splitlines() if count.exists() else []


def counting_validation(sandbox: Sandbox, tmp_path: Path) -> Path:
    """Make the validation command log where it ran, one line per run; return the log."""
    count = tmp_path / "runs.txt"
    sandbox.edit_workflow(VALIDATION, f'validation_commands = ["pwd >> {count}"]')
    return count


def _check_source(sandbox: Sandbox, identifier: str) -> str:
    number = sandbox.lane_file(identifier, "pr.json")["number"]
    path = sandbox.origin / "maestro-forge" / "pulls" / f"{number}.json"
    return str(json.loads(path.read_text())["extra"].get("check_source"))


def test_a_clean_head_is_validated_once_for_the_lane_and_the_forge_check(
        sandbox: Sandbox, tmp_path: Path) -> None:
    count = counting_validation(sandbox, tmp_path)
    sandbox.add_issue("ONCE-1", script="""
        steps:
          - write: {path: a.txt, content: a}
          - commit: a
          - handoff: done
        """)
    sandbox.lane("ONCE-1")
    assert sandbox.outcome("ONCE-1") == "waiting"
    assert [Path(p).name for p in _places(count)] == ["ONCE-1"]
    assert _check_source(sandbox, "ONCE-1") == "lane validation"


def test_a_worktree_holding_ignored_files_makes_the_forge_check_run_on_its_own(
        sandbox: Sandbox, tmp_path: Path) -> None:
    """An ignored file is read by the commands but not pushed. (Untracked files are refused
    before the push: ``security/test_pr_gate.py``.)"""
    count = counting_validation(sandbox, tmp_path)
    sandbox.add_issue("ONCE-2", script="""
        steps:
          - write: {path: .gitignore, content: "*.local\\n"}
          - commit: ignore local settings
          - write: {path: settings.local, content: "what only the worktree has"}
          - handoff: done
        """)
    sandbox.lane("ONCE-2")
    assert sandbox.outcome("ONCE-2") == "waiting"
    places = _places(count)
    assert len(places) == 2 and Path(places[0]).name == "ONCE-2"
    assert Path(places[1]).name != "ONCE-2"  # the forge's own throw-away checkout
    assert _check_source(sandbox, "ONCE-2") == "forge"


def test_a_change_hidden_from_git_status_is_an_uncommitted_change(
        sandbox: Sandbox, tmp_path: Path) -> None:
    counting_validation(sandbox, tmp_path)
    sandbox.add_issue("ONCE-4", script="""
        steps:
          - write: {path: a.txt, content: "committed"}
          - commit: a
          - open_pr: {}
          - run: git update-index --skip-worktree a.txt
          - write: {path: a.txt, content: "what only the worktree has"}
          - handoff: done
        """)
    sandbox.lane("ONCE-4")
    assert sandbox.lane_file("ONCE-4", "result.json")["error_class"] == "uncommitted_changes"
    assert sandbox.lane_file("ONCE-4", "pr.json") is None
