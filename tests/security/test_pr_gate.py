"""Nothing leaves the machine before validation: ``lane_open_pr`` validates the lane HEAD
first, a failure is the tool's answer, and the validate phase reuses the result."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from maestro.fsutil import read_json
from tests.conftest import Sandbox

VALIDATION = 'validation_commands = ["python3 -m unittest -q test_hello"]'
BROKEN = "import unittest\\nclass T(unittest.TestCase):\\n    def test_x(self):\\n        self.fail('broken by the agent')\\n"  # noqa: E501


def _pulls(sandbox: Sandbox) -> list[Path]:
    return list((sandbox.origin / "maestro-forge" / "pulls").glob("*.json"))


def test_a_failing_validation_is_the_pr_tools_answer_and_nothing_is_pushed(
        sandbox: Sandbox) -> None:
    sandbox.add_issue("GATE-1", script=f"""
        steps:
          - write: {{path: test_hello.py, content: "{BROKEN}"}}
          - commit: break the tests
          - open_pr: {{title: broken}}
        """)
    sandbox.lane("GATE-1")
    answers = sandbox.tool_answers("GATE-1", "lane_open_pr")
    assert answers and answers[0]["ok"] is False
    assert "validation failed" in str(answers[0]["result"])
    assert "python3 -m unittest -q test_hello" in str(answers[0]["result"])
    assert _pulls(sandbox) == []
    assert sandbox.origin_file("test_hello.py", "maestro/gate-1") is None


def test_the_agent_fixes_a_failing_validation_in_the_same_session(sandbox: Sandbox) -> None:
    good = (sandbox.repo / "test_hello.py").read_text()
    # The validation's byproducts land in the worktree mid-session; ignore them as a
    # real repository does, or the agent's next `git add -A` commits them.
    sandbox.add_issue("GATE-2", script=f"""
        steps:
          - write: {{path: .gitignore, content: "__pycache__/\\n"}}
          - write: {{path: test_hello.py, content: "{BROKEN}"}}
          - commit: break the tests
          - open_pr: {{title: broken}}
          - write: {{path: test_hello.py, content: {json.dumps(good)}}}
          - commit: fix the tests
          - handoff: fixed
        """)
    sandbox.lane("GATE-2")
    answers = sandbox.tool_answers("GATE-2", "lane_open_pr")
    assert [a["ok"] for a in answers] == [False, True]
    assert sandbox.outcome("GATE-2") == "waiting"
    assert len(_pulls(sandbox)) == 1


def test_the_validate_phase_reuses_the_pr_tools_result_on_an_unchanged_head(
        sandbox: Sandbox, tmp_path: Path) -> None:
    count = tmp_path / "runs.txt"
    sandbox.edit_workflow(VALIDATION, f'validation_commands = ["pwd >> {count}"]')
    sandbox.add_issue("GATE-3", script="""
        steps:
          - write: {path: a.txt, content: a}
          - commit: a
          - handoff: done
        """)
    sandbox.lane("GATE-3")
    validation = read_json(sandbox.repo / ".maestro" / "lanes" / "GATE-3" / "validation.json")
    assert validation["passed"] is True and validation["cached"] is True
    in_lane = [line for line in count.read_text().splitlines()
               if line.endswith(".worktrees/GATE-3")]  # the local forge's CI runs elsewhere
    assert len(in_lane) == 1


def test_a_validation_result_the_agent_forged_in_the_lane_folder_is_not_trusted(
        sandbox: Sandbox) -> None:
    """The agent runs as the same user and can write the lane folder: a cache entry it
    wrote for the very head being checked does not verify, so the commands run."""
    from maestro.lanes.context import LaneContext
    from maestro.lanes.validation.gate import CACHE, cache_key, validate_head

    sandbox.add_issue("GATE-4", script=f"""
        steps:
          - write: {{path: test_hello.py, content: "{BROKEN}"}}
          - commit: break the tests
          - open_pr: {{title: broken}}
        """)
    sandbox.lane("GATE-4")  # one refused open_pr: the broken head stays in the worktree
    ctx = LaneContext(sandbox.config, "GATE-4")
    worktree = ctx.worktree
    head, tree = (subprocess.run(["git", "rev-parse", ref], cwd=worktree, capture_output=True,
                                 text=True, check=True).stdout.strip()
                  for ref in ("HEAD", "HEAD^{tree}"))
    commands = list(ctx.workflow.policy.execution.validation_commands)
    forged = {cache_key(commands, head, tree): {
        "passed": True, "records": [], "ran_at": "2026-01-01T00:00:00+00:00",
        "sig": "0" * 64}}
    ctx.state.write(CACHE, forged)

    checked = validate_head(ctx)

    assert checked.cached is False and checked.passed is False
    ctx.close()


def test_a_result_this_process_signed_is_reused(sandbox: Sandbox) -> None:
    from maestro.lanes.context import LaneContext
    from maestro.lanes.validation.gate import validate_head

    sandbox.add_issue("GATE-5", script="""
        steps:
          - write: {path: a.txt, content: a}
          - commit: a
        """)
    sandbox.lane("GATE-5")
    ctx = LaneContext(sandbox.config, "GATE-5")
    assert validate_head(ctx).cached is False
    assert validate_head(ctx).cached is True
    ctx.close()


def test_the_pr_tool_refuses_a_commit_whose_fix_was_left_uncommitted(
        sandbox: Sandbox) -> None:
    """Validation tests the files on disk: with a broken commit and its fix left
    uncommitted, it would pass and the broken commit would be pushed."""
    sandbox.add_issue("GATE-5", script=f"""
        steps:
          - write: {{path: test_hello.py, content: "{BROKEN}"}}
          - commit: break the tests
          - run: git checkout HEAD~1 -- test_hello.py
          - open_pr: {{title: broken}}
        """)
    sandbox.lane("GATE-5")
    answers = sandbox.tool_answers("GATE-5", "lane_open_pr")
    assert answers and answers[0]["ok"] is False
    assert "uncommitted changes to tracked files" in str(answers[0]["result"])
    assert _pulls(sandbox) == []
    assert sandbox.origin_file("test_hello.py", "maestro/gate-5") is None


def test_validation_does_not_see_a_file_the_agent_forgot_to_add(sandbox: Sandbox) -> None:
    """The commands would import the untracked file; the forge's clean checkout has none, so
    validation runs without it and fails as the forge's would."""
    sandbox.edit_workflow(VALIDATION, 'validation_commands = ["python3 -c \\"import helper\\""]')
    sandbox.add_issue("GATE-6", script="""
        steps:
          - write: {path: helper.py, content: "X = 1\\n"}
          - write: {path: a.txt, content: "uses helper"}
          - run: git add a.txt && git commit -qm 'forgot helper.py'
          - open_pr: {title: forgot}
        """)
    sandbox.lane("GATE-6")
    answers = sandbox.tool_answers("GATE-6", "lane_open_pr")
    assert answers and answers[0]["ok"] is False
    assert "No module named 'helper'" in str(answers[0]["result"])
    assert _pulls(sandbox) == []
    worktree = sandbox.repo / ".worktrees" / "GATE-6"
    assert (worktree / "helper.py").read_text() == "X = 1\n"  # put back for the agent


def test_an_untracked_file_the_agent_keeps_is_put_back_and_never_pushed(
        sandbox: Sandbox) -> None:
    sandbox.add_issue("GATE-8", script="""
        steps:
          - write: {path: a.txt, content: a}
          - commit: a
          - open_pr: {title: a}
          - write: {path: scratch.txt, content: left behind}
          - handoff: done
        """)
    sandbox.lane("GATE-8")
    assert sandbox.outcome("GATE-8") == "waiting"
    assert (sandbox.repo / ".worktrees" / "GATE-8" / "scratch.txt").read_text() == "left behind"
    assert sandbox.origin_file("scratch.txt", "maestro/gate-8") is None


def test_untracked_files_are_set_aside_when_the_state_root_is_on_another_file_system(
        sandbox: Sandbox) -> None:
    """The set-aside folder sits beside the worktrees: moving is a rename there, whatever
    file system ``state_root`` is on (breaker 13: every untracked file was refused)."""
    shm = Path("/dev/shm")
    if not shm.is_dir() or shm.stat().st_dev == sandbox.repo.stat().st_dev:
        pytest.skip("needs /dev/shm on another file system than the repository")
    state = Path(tempfile.mkdtemp(dir=shm))
    config = sandbox.repo / "maestro.toml"
    config.write_text(config.read_text().replace('state_root = ".maestro"',
                                                 f'state_root = "{state}"'))
    try:
        sandbox.add_issue("GATE-9", script="""
            steps:
              - write: {path: a.txt, content: a}
              - commit: a
              - write: {path: scratch.txt, content: mine}
              - handoff: done
            """)
        proc = sandbox.lane("GATE-9")
        assert "waiting" in proc.stdout, proc.stdout + proc.stderr
        assert (sandbox.repo / ".worktrees" / "GATE-9" / "scratch.txt").read_text() == "mine"
    finally:
        shutil.rmtree(state, ignore_errors=True)
