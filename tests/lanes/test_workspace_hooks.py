"""Workspace hooks (maestro.lanes.worktree.hooks): the runner's bounds, the ``[hooks]`` keys, and
Symphony's failure semantics for the hooks that stop a lane. The hooks that must not stop
one (``after_run``, ``before_remove``) are shown by tests/test_symphony_workflow_lane.py."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from maestro.config.workflow import parse_workflow
from maestro.containment.shell import TIMEOUT_EXIT
from maestro.errors import ConfigError
from maestro.lanes.worktree.hooks import OUTPUT_TAIL, run_script
from tests.conftest import Sandbox

ENV = {"PATH": os.environ["PATH"]}


def alive(pid: int) -> bool:
    proc = subprocess.run(["ps", "-o", "stat=", "-p", str(pid)], capture_output=True,
                          text=True, check=False)
    return proc.returncode == 0 and not proc.stdout.strip().startswith("Z")


def test_a_hook_that_times_out_is_killed_with_its_children(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    code, timed_out, _ = run_script(f"sleep 300 & echo $! > {pidfile}; wait", tmp_path, ENV,
                                    timeout_s=0.5)
    assert (code, timed_out) == (TIMEOUT_EXIT, True)
    assert not alive(int(pidfile.read_text()))


def test_hook_output_is_kept_as_a_bounded_tail(tmp_path: Path) -> None:
    code, timed_out, tail = run_script(
        "i=0; while [ $i -lt 5000 ]; do echo line$i; i=$((i+1)); done; echo end >&2; exit 3",
        tmp_path, ENV, timeout_s=60)
    assert (code, timed_out) == (3, False)
    assert len(tail) == OUTPUT_TAIL
    assert tail.endswith("line4999\nend\n")


def test_hooks_run_in_the_given_folder(tmp_path: Path) -> None:
    assert run_script("pwd", tmp_path, ENV, timeout_s=60)[2].strip() == str(tmp_path)


TOML = '+++\n[hooks]\nbefore_run = "make deps"\n{extra}+++\nbody\n'


def test_toml_front_matter_takes_the_symphony_hook_keys(tmp_path: Path) -> None:
    workflow = parse_workflow(TOML.format(extra="timeout_ms = 1500\n"), tmp_path / "W.md")
    hooks = workflow.policy.hooks
    assert (hooks.before_run, hooks.after_create, hooks.timeout_ms) == ("make deps", None, 1500)


@pytest.mark.parametrize(("extra", "said"), [
    ("timeout_ms = 0\n", "hooks.timeout_ms: Input should be greater than 0"),
    ("timeout_ms = \"soon\"\n", "hooks.timeout_ms: Input should be a valid integer"),
    ("before_runn = \"x\"\n", "hooks.before_runn: unknown key"),
])
def test_invalid_hook_settings_are_refused(tmp_path: Path, extra: str, said: str) -> None:
    with pytest.raises(ConfigError, match=said.replace(".", r"\.")):
        parse_workflow(TOML.format(extra=extra), tmp_path / "W.md")


# -- in a lane (real git, scripted agent, files tracker) --------------------------------------

def with_hooks(sandbox: Sandbox, hooks: str) -> None:
    sandbox.edit_workflow('merge_method = "merge"\n+++',
                          f'merge_method = "merge"\n\n[hooks]\n{hooks}\n+++')


def lane_dir(sandbox: Sandbox, identifier: str) -> Path:
    return sandbox.repo / ".maestro" / "lanes" / identifier


@pytest.mark.slow
def test_a_failing_after_create_fails_the_attempt_and_discards_the_new_worktree(
        sandbox: Sandbox) -> None:
    with_hooks(sandbox, "after_create = \"echo bootstrap broke; exit 4\"")
    sandbox.add_issue("HK-1")
    sandbox.lane("HK-1")
    assert sandbox.outcome("HK-1") == "retry"
    result = sandbox.lane_file("HK-1", "result.json")
    assert result["error_class"] == "after_create_hook_failed"
    assert result["reason"] == "workspace hook after_create exited 4: bootstrap broke"
    assert not (sandbox.repo / ".worktrees" / "HK-1").exists()
    assert sandbox.lane_file("HK-1", "after_create.json")["due"] is True  # runs again next time
    assert not (lane_dir(sandbox, "HK-1") / "turns").exists()  # the agent never started


@pytest.mark.slow
def test_a_before_run_that_times_out_fails_the_attempt_before_the_agent_starts(
        sandbox: Sandbox) -> None:
    with_hooks(sandbox, "before_run = \"sleep 30\"\ntimeout_ms = 300\n"
                        "after_run = \"echo ran > ../after_run.txt\"")
    sandbox.add_issue("HK-2")
    sandbox.lane("HK-2")
    assert sandbox.outcome("HK-2") == "retry"
    result = sandbox.lane_file("HK-2", "result.json")
    assert result["error_class"] == "before_run_hook_failed"
    assert result["reason"] == "workspace hook before_run timed out (hooks.timeout_ms = 300)"
    assert not (lane_dir(sandbox, "HK-2") / "turns").exists()
    assert not (sandbox.repo / ".worktrees" / "after_run.txt").exists()  # no run, no after_run


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")
def test_under_bubblewrap_a_hook_cannot_rewrite_the_repositorys_control_files(
        sandbox: Sandbox) -> None:
    sandbox.set_agent(sandbox="bubblewrap")
    # Outside the workspace root, which the sandbox also makes read-only (other lanes').
    refused = sandbox.root / "refused.err"
    with_hooks(sandbox, "before_run = \"git config core.fsmonitor /bin/false 2> "
                        f"{refused}; exit 4\"")
    sandbox.add_issue("HK-3")
    sandbox.lane("HK-3")
    assert "fsmonitor" not in (sandbox.repo / ".git" / "config").read_text()
    assert "config file" in refused.read_text()
    assert "Read-only file system" in refused.read_text()


def stopped_before_the_agent(sandbox: Sandbox, identifier: str, before_remove: str) -> None:
    """A lane whose ``before_run`` hook fails: it keeps its worktree for the retry."""
    with_hooks(sandbox, f"before_run = \"exit 5\"\nbefore_remove = \"{before_remove}\"")
    sandbox.add_issue(identifier)
    sandbox.lane(identifier)
    assert (sandbox.repo / ".worktrees" / identifier).is_dir()


@pytest.mark.slow
def test_before_remove_runs_when_the_loop_cleans_up_a_cancelled_lane(sandbox: Sandbox) -> None:
    stopped_before_the_agent(sandbox, "HK-4",
                             "echo removing $MAESTRO_ISSUE > ../removed.txt; exit 1")
    sandbox.tracker.transition("HK-4", "Canceled")
    sandbox.maestro("run", "--once", check=True)
    assert sandbox.outcome("HK-4") == "terminated"
    assert not (sandbox.repo / ".worktrees" / "HK-4").exists()
    assert (sandbox.repo / ".worktrees" / "removed.txt").read_text() == "removing HK-4\n"


@pytest.mark.slow
def test_before_remove_runs_when_maestro_cancel_removes_the_worktree(sandbox: Sandbox) -> None:
    stopped_before_the_agent(sandbox, "HK-6", "echo removing $MAESTRO_ISSUE > ../removed.txt")
    sandbox.maestro("cancel", "HK-6", check=True)
    assert not (sandbox.repo / ".worktrees" / "HK-6").exists()
    assert (sandbox.repo / ".worktrees" / "removed.txt").read_text() == "removing HK-6\n"


@pytest.mark.slow
def test_a_failing_before_run_in_a_repair_round_takes_the_attention_path(
        sandbox: Sandbox) -> None:
    with_hooks(sandbox, "before_run = \"[ -f ../ran ] && exit 6; touch ../ran\"")
    sandbox.add_issue("HK-5")
    sandbox.lane("HK-5")
    assert sandbox.outcome("HK-5") == "waiting"  # the first session's hook passed
    sandbox.maestro("review", "request-changes", "HK-5", "--comment", "more", check=True)
    sandbox.lane("HK-5")
    assert sandbox.outcome("HK-5") == "needs_human"
    attention = sandbox.lane_file("HK-5", "attention.json")
    assert attention["error_class"] == "before_run_hook_failed"
    assert attention["reason"] == "review repair round: workspace hook before_run exited 6"
    assert not (lane_dir(sandbox, "HK-5") / "repairs" / "01-turns").exists()


@pytest.mark.slow
def test_a_run_killed_between_worktree_add_and_after_create_runs_the_hook_next_time(
        sandbox: Sandbox, tmp_path: Path) -> None:
    with_hooks(sandbox, "after_create = \"echo created >> ../created.log\"")
    sandbox.add_issue("HK-6")
    flag = tmp_path / "fired"
    sandbox.lane("HK-6", env={"MAESTRO_FAULT_KILL": "worktree:registered",
                              "MAESTRO_FAULT_ONCE": str(flag)})
    assert flag.exists()
    assert not (sandbox.repo / ".worktrees" / "created.log").exists()
    sandbox.lane("HK-6")
    assert sandbox.outcome("HK-6") == "waiting"
    assert (sandbox.repo / ".worktrees" / "created.log").read_text() == "created\n"


@pytest.mark.slow
def test_the_local_forges_check_runs_after_create_in_its_checkout_too(
        sandbox: Sandbox) -> None:
    """Validation needs what ``after_create`` installs into an ignored folder (a ``.venv``,
    ``node_modules``): the check's clean checkout is a new workspace too, so it gets the
    hook, as CI would install its own."""
    ignore = sandbox.repo / ".gitignore"
    ignore.write_text(ignore.read_text() + "deps/\n")
    for args in (["add", ".gitignore"], ["commit", "-qm", "ignore deps"],
                 ["push", "-q", "origin", "HEAD:main"]):
        subprocess.run(["git", *args], cwd=sandbox.repo, check=True, capture_output=True)
    with_hooks(sandbox, 'after_create = "mkdir -p deps && echo ok > deps/ready"')
    sandbox.edit_workflow('validation_commands = ["python3 -m unittest -q test_hello"]',
                          'validation_commands = ["test -f deps/ready"]')
    sandbox.add_issue("HK-9", script="""
        steps:
          - write: {path: a.txt, content: a}
          - commit: a
          - handoff: done
        """)
    sandbox.lane("HK-9")
    assert sandbox.outcome("HK-9") == "waiting"
    sandbox.approve("HK-9")
    sandbox.lane("HK-9")
    assert sandbox.outcome("HK-9") == "finished", sandbox.lane_file("HK-9", "outcome.json")


@pytest.mark.slow
def test_a_hook_failing_only_in_the_forges_check_goes_to_a_person_not_to_the_agent(
        sandbox: Sandbox) -> None:
    """The agent cannot fix the operator's hook: no repair round is spent on it, and the
    failed setup is not kept, so the next refresh runs the check again."""
    with_hooks(sandbox, 'after_create = "case $PWD in */.worktrees/*) exit 0;; esac; '
                        'echo registry unreachable; exit 5"')
    sandbox.add_issue("HK-10", script="""
        steps:
          - write: {path: a.txt, content: a}
          - commit: a
          - handoff: done
        """)
    sandbox.lane("HK-10")
    assert sandbox.outcome("HK-10") == "needs_human"
    reason = sandbox.lane_file("HK-10", "attention.json")["reason"]
    assert "could not set up its checkout" in reason, reason
    assert not (lane_dir(sandbox, "HK-10") / "repairs").exists()
    record = json.loads((sandbox.origin / "maestro-forge" / "pulls" / "1.json").read_text())
    assert record["extra"].get("check_runs", {}) == {}
