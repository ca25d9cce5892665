"""Validation once per head: the local forge's check takes the lane's own run only when that
run saw exactly what the check would see; every difference makes the check run again."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from forge.conftest import Remote, sh

from maestro.forges import check_reuse
from maestro.forges.check_reuse import CheckPlan, LaneRun, refusal
from maestro.forges.local import LocalForge, _check_env
from maestro.lanes.validation.gate import index_facts
from maestro.model import CheckState

PLAN = CheckPlan(head="a" * 40, tree="b" * 40, commands=("make test",), timeout_s=60.0,
                 env="e" * 64)
RUN = LaneRun(PLAN, passed=True, dirty=False, untracked=False, ignored=False, sandboxed=False,
              records=({"command": "make test", "exit_code": 0, "output_tail": "ok"},))


@pytest.mark.parametrize(("change", "reason"), [
    ({"passed": False}, "the lane's run failed"),
    ({"dirty": True}, "tracked files were changed when the lane's run started"),
    ({"untracked": True}, "untracked files were in the worktree"),
    ({"ignored": True}, "ignored files or a nested repository were in the worktree"),
    ({"sandboxed": True}, "the lane's run was sandboxed and the check is not"),
    ({"head": "c" * 40}, "another head"),
    ({"tree": "d" * 40}, "another tree"),
    ({"commands": ("make test", "make lint")}, "other commands"),
    ({"timeout_s": 30.0}, "another timeout"),
    ({"env": "f" * 64}, "another environment"),
])
def test_a_lane_run_that_differs_in_one_fact_is_refused_with_that_fact(
        change: dict[str, object], reason: str) -> None:
    plan_keys = {k: v for k, v in change.items() if k in {f.name for f in
                                                          dataclasses.fields(CheckPlan)}}
    run_keys = {k: v for k, v in change.items() if k not in plan_keys}
    run = dataclasses.replace(RUN, plan=dataclasses.replace(PLAN, **plan_keys), **run_keys)
    assert refusal(run, PLAN) == reason


def test_an_identical_lane_run_is_accepted() -> None:
    assert refusal(RUN, PLAN) == ""


def test_a_check_in_the_sandbox_takes_only_a_sandboxed_lane_run() -> None:
    in_sandbox = dataclasses.replace(PLAN, in_sandbox=True)
    assert refusal(RUN, in_sandbox) == "the check is sandboxed and the lane's run was not"
    assert refusal(dataclasses.replace(RUN, sandboxed=True), in_sandbox) == ""


def test_the_environment_digest_ignores_only_the_lanes_own_variables() -> None:
    base = {"PATH": "/bin", "HOME": "/h"}
    assert check_reuse.env_digest({**base, "MAESTRO_ISSUE": "X-1"}) == check_reuse.env_digest(base)
    assert check_reuse.env_digest({**base, "EXTRA": "1"}) != check_reuse.env_digest(base)


# -- the local forge's check, on real git --------------------------------------------------


@pytest.fixture(autouse=True)
def _no_remembered_runs() -> Iterator[None]:
    check_reuse.forget()
    yield
    check_reuse.forget()


@pytest.fixture
def counted(tmp_path: Path) -> Path:
    """A file each run of the validation command adds a line to (outside every checkout)."""
    return tmp_path / "runs.txt"


def _forge(remote: Remote, counted: Path) -> LocalForge:
    return LocalForge(remote.clone, "origin", [f"echo ran >> {counted}"], 60.0)


def _open_pr(remote: Remote, forge: LocalForge) -> tuple[int, str]:
    sh(remote.clone, "checkout", "--quiet", "-b", "lane")
    head = remote.commit("feature.txt", "feature\n", "feature")
    sh(remote.clone, "push", "--quiet", "origin", "lane")
    return forge.open_pr("lane", "main", "feature", "").number, head


def _lane_run(remote: Remote, forge: LocalForge, head: str, **change: object) -> LaneRun:
    """The gate's record of a clean, passing run of the forge's own commands on ``head``."""
    plan = check_reuse.plan(head, sh(remote.clone, "rev-parse", f"{head}^{{tree}}"),
                            forge.validation_commands, forge.check_timeout_s,
                            _check_env(forge.env_passthrough))
    plan_keys = {k: v for k, v in change.items() if hasattr(plan, k)}
    run_keys = {k: v for k, v in change.items() if k not in plan_keys}
    records = tuple({"command": c, "exit_code": 0, "output_tail": "lane output"}
                    for c in forge.validation_commands)
    base = LaneRun(dataclasses.replace(plan, **plan_keys), passed=True, dirty=False,
                   untracked=False, ignored=False, sandboxed=False, records=records)
    return dataclasses.replace(base, **run_keys)


def _runs(counted: Path) -> int:
    return len(counted.read_text().splitlines()) if counted.exists() else 0


def test_the_check_takes_the_lanes_run_on_the_same_head_tree_commands_and_environment(
        remote: Remote, counted: Path) -> None:
    forge = _forge(remote, counted)
    number, head = _open_pr(remote, forge)
    check_reuse.remember(_lane_run(remote, forge, head))
    pr = forge.refresh([number])[number]
    assert _runs(counted) == 0
    assert [c.state for c in pr.checks] == [CheckState.SUCCESS]
    assert pr.checks[0].summary == "lane output"
    assert forge.get(number).extra["check_source"] == "lane validation"


@pytest.mark.parametrize("change", [
    {"passed": False}, {"dirty": True}, {"untracked": True}, {"ignored": True},
    {"sandboxed": True},
    {"tree": "0" * 40}, {"commands": ("true",)}, {"timeout_s": 1.0}, {"env": "0" * 64},
], ids=lambda change: next(iter(change)))
def test_the_check_runs_the_commands_itself_when_the_lanes_run_differs(
        remote: Remote, counted: Path, change: dict[str, object]) -> None:
    forge = _forge(remote, counted)
    number, head = _open_pr(remote, forge)
    check_reuse.remember(_lane_run(remote, forge, head, **change))
    forge.refresh([number])
    assert _runs(counted) == 1
    assert forge.get(number).extra["check_source"] == "forge"


def test_the_check_runs_the_commands_itself_for_a_head_the_lane_did_not_validate(
        remote: Remote, counted: Path) -> None:
    forge = _forge(remote, counted)
    number, head = _open_pr(remote, forge)
    check_reuse.remember(_lane_run(remote, forge, head))
    newer = remote.commit("feature.txt", "feature, changed after validation\n", "later")
    sh(remote.clone, "push", "--quiet", "origin", "lane")
    pr = forge.refresh([number])[number]
    assert pr.head == newer
    assert _runs(counted) == 1


@pytest.mark.parametrize(("listing", "facts"), [
    ("H 100644 aaaa 0\ta.txt\0", (False, False)),
    ("H 100644 aaaa 0\ta.txt\0S 100644 bbbb 0\ttest_hello.py\0", (True, False)),
    ("h 100644 aaaa 0\ta.txt\0", (True, False)),
    ("H 160000 cccc 0\tsub\0", (False, True)),
    ("", (False, False)),
])
def test_index_entries_git_status_would_hide_are_found(listing: str,
                                                       facts: tuple[bool, bool]) -> None:
    assert index_facts(listing) == facts
