"""Validation once per head: the local forge's check takes the lane's own clean run.

A lane runs the workflow's validation commands on its HEAD
(``maestro.lanes.validation.gate``), pushes that HEAD, and the local forge's check then ran
the very same commands on the very same commit again, in a throw-away checkout. When the
lane's run is known to have seen exactly what the check would see, the check takes its
result instead of running the commands twice.

Trust: the lane's ``validation.json`` lives in a folder the agent can write, so it is never
read for this. A run is remembered here, in this process's memory, by the gate that ran it
(after the agent's session ended), and only a run in the same process can be reused — the
common case, a lane process that validates, hands off and refreshes its PR. :func:`refusal`
(pure, tested by a table) accepts a run only when all of these hold:

* it passed (a failing run stops at the first failure; the check runs every command);
* the commit and its tree are the check's head and tree;
* the worktree had no change to tracked files (index entries flagged skip-worktree or
  assume-unchanged count as changes: ``git status`` hides them), no untracked file, ignored
  ones included, and no nested repository (a gitlink's files are not in the commit), so
  the commands saw the commit's files and nothing else of the agent's;
* the same command list, the same timeout, and the same environment (compared by digest,
  less the lane's own ``MAESTRO_*`` names, which the check drops by design);
* the same confinement: a sandboxed run for a check in the sandbox
  (:mod:`.check_sandbox`, when the agent has one), an unsandboxed run for one without.

Ignored files count: an ignored file is still read by the commands, and the agent writes
them (a ``__pycache__/*.pyc`` whose header matches its source's size and mtime is run
instead of the source, a git-ignored ``conftest.py`` or ``local_settings.py`` changes what a
test sees), so a run over one says nothing about the commit alone. In a Python repository
whose agent ran its tests, the check therefore runs the commands itself.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: Runs kept per process (the newest heads win).
KEEP = 16
#: Where a check's summary comes from: the output's tail, as the forge's own runs keep it.
OUTPUT_CHARS = 4000


def env_digest(env: Mapping[str, str]) -> str:
    """SHA-256 (hex) of an environment, without the lane's ``MAESTRO_*`` variables."""
    kept = sorted((k, v) for k, v in env.items() if not k.startswith("MAESTRO_"))
    return hashlib.sha256(json.dumps(kept).encode()).hexdigest()


@dataclass(frozen=True)
class CheckPlan:
    """What the forge is about to run: ``commands`` on ``head`` (whose tree is ``tree``)."""

    head: str
    tree: str
    commands: tuple[str, ...]
    timeout_s: float
    env: str  #: :func:`env_digest` of the check's environment
    #: The check runs behind the bubblewrap sandbox (:mod:`.check_sandbox`).
    in_sandbox: bool = False


@dataclass(frozen=True)
class LaneRun:
    """One run of the validation commands by the lane's gate, as it happened."""

    plan: CheckPlan
    passed: bool
    #: Tracked files differed from the commit while the commands ran.
    dirty: bool
    #: Untracked, not ignored files were in the worktree when the commands started.
    untracked: bool
    #: Ignored files (``.gitignore``, ``info/exclude``) or a nested repository (a gitlink)
    #: were there when the commands started.
    ignored: bool
    sandboxed: bool
    records: tuple[dict[str, Any], ...] = field(default=())


def refusal(run: LaneRun, want: CheckPlan) -> str:
    """Why ``run`` cannot stand for the check ``want`` ("" when it can). Pure."""
    have = run.plan
    reasons = (
        (not run.passed, "the lane's run failed"),
        (run.dirty, "tracked files were changed when the lane's run started"),
        (run.untracked, "untracked files were in the worktree"),
        (run.ignored, "ignored files or a nested repository were in the worktree"),
        (run.sandboxed and not want.in_sandbox,
         "the lane's run was sandboxed and the check is not"),
        (want.in_sandbox and not run.sandboxed,
         "the check is sandboxed and the lane's run was not"),
        (have.head != want.head, "another head"),
        (have.tree != want.tree, "another tree"),
        (have.commands != want.commands, "other commands"),
        (have.timeout_s != want.timeout_s, "another timeout"),
        (have.env != want.env, "another environment"),
    )
    return next((why for bad, why in reasons if bad), "")


_RUNS: dict[str, LaneRun] = {}


def remember(run: LaneRun) -> None:
    """Keep ``run`` (by head) for a check later in this process."""
    _RUNS.pop(run.plan.head, None)
    _RUNS[run.plan.head] = run
    while len(_RUNS) > KEEP:
        _RUNS.pop(next(iter(_RUNS)))


def recall(head: str) -> LaneRun | None:
    return _RUNS.get(head)


def forget() -> None:
    """Drop every remembered run (tests)."""
    _RUNS.clear()


def as_checks(run: LaneRun) -> list[dict[str, Any]]:
    """The check records the forge would have written for a passing run of these commands."""
    return [{"name": f"check {index}: {record['command']}", "state": "success",
             "summary": str(record.get("output_tail", ""))[-OUTPUT_CHARS:], "required": True}
            for index, record in enumerate(run.records, start=1)]


def reusable(want: CheckPlan) -> list[dict[str, Any]] | None:
    """The check records for ``want`` taken from this process's lane run, or None."""
    run = recall(want.head)
    if run is None or refusal(run, want) or len(run.records) != len(want.commands):
        return None
    return as_checks(run)


def plan(head: str, tree: str, commands: Sequence[str], timeout_s: float,
         env: Mapping[str, str], *, in_sandbox: bool = False) -> CheckPlan:
    return CheckPlan(head, tree, tuple(commands), float(timeout_s), env_digest(env),
                     in_sandbox)
