"""Symphony's workspace hooks in a lane (SPEC §9.4; the scripts: :mod:`maestro.config.hooks`).

| hook | when | failure or timeout |
| --- | --- | --- |
| ``after_create`` | a new worktree exists (prepare) | fails the attempt; worktree discarded |
| ``before_run`` | before every agent or repair session | fails the attempt (repair: a human) |
| ``after_run`` | after that session, however it ended | journaled and ignored |
| ``before_remove`` | before maestro deletes the worktree | journaled and ignored |

A hook runs with ``/bin/sh -c`` (not a login shell: a profile could put back the secrets the
allow list keeps out) in the lane worktree, with the agent's allow-listed environment
(:func:`~maestro.containment.childenv.child_env` plus ``MAESTRO_ISSUE`` and
``MAESTRO_HOOK``), behind the same sandbox prefix as the agent
(:func:`~maestro.lanes.confinement.confine.sandbox_prefix`), killed with its whole process
group after ``hooks.timeout_ms``. Its start and end go to the lane journal with the last
:data:`OUTPUT_TAIL` characters of its output.

The scripts come from ``ctx.workflow``: the snapshot of the ``WORKFLOW.md`` maestro read when
the lane was claimed, never the agent's copy in the worktree (DESIGN trust rule 3).

``after_create`` is due when prepare finds no worktree, or heals one by re-creating it; the
due mark lives in the lane folder (:data:`DUE`) until the hook succeeds, so a run killed
between ``git worktree add`` and the hook still runs the hook next time.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from maestro.config.hooks import HookName
from maestro.containment.childenv import child_env
from maestro.containment.shell import run_shell
from maestro.ids import iso_now
from maestro.lanes.confinement.confine import sandbox_prefix
from maestro.lanes.context import LaneContext
from maestro.lanes.outcomes import fail_attempt, require_human
from maestro.lanes.worktree import fresh_worktree
from maestro.lanes.worktree.worktree_health import discard

#: Characters of a hook's output kept in the journal and in a failure's reason.
OUTPUT_TAIL = 2000
#: Lane file: ``{"due": true}`` while ``after_create`` has yet to succeed for the worktree.
DUE = "after_create.json"


@dataclass(frozen=True)
class HookRun:
    """How one hook run ended: ``exit_code`` is 124
    (:data:`maestro.containment.shell.TIMEOUT_EXIT`) after a timeout."""

    name: str
    exit_code: int
    timed_out: bool
    output_tail: str
    duration_s: float
    timeout_ms: int

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out

    def describe(self) -> str:
        """One reason for a comment or status: what failed, then the output's last lines."""
        what = (f"timed out (hooks.timeout_ms = {self.timeout_ms})" if self.timed_out
                else f"exited {self.exit_code}")
        tail = self.output_tail.strip()[-500:]
        return f"workspace hook {self.name} {what}" + (f": {tail}" if tail else "")


def run_script(script: str, cwd: Path, env: dict[str, str], timeout_s: float,
               prefix: Sequence[str] = ()) -> tuple[int, bool, str]:
    """Run ``script`` with ``/bin/sh -c`` in ``cwd``; returns ``(exit code, timed out, output
    tail)``. Output goes to a temporary file, so a hook that prints gigabytes costs disk for
    at most ``timeout_s``, never memory; the process group is killed on timeout and on any
    interruption (SIGTERM in the lane process), and the hook runs under
    :mod:`maestro.containment.reaper`, so nothing it starts (``setsid`` included) outlives
    it."""
    fresh_worktree.forget()  # foreign code is about to run: no worktree is as prepare made it
    run = run_shell(script, cwd, env=env, timeout_s=timeout_s, prefix=prefix, keep=OUTPUT_TAIL)
    return run.exit_code, run.timed_out, run.output


def hook_env(ctx: LaneContext, name: HookName) -> dict[str, str]:
    """The agent's allow list (never maestro's own environment) plus the lane's names."""
    env = child_env(ctx.config.agent.env_passthrough, ctx.config.secret_env_vars())
    env.update({"GIT_TERMINAL_PROMPT": "0", "MAESTRO_ISSUE": ctx.identifier,
                "MAESTRO_HOOK": name})
    return env


def run_hook(ctx: LaneContext, name: HookName) -> HookRun | None:
    """Run the workflow's ``name`` hook in the worktree; None when there is no such hook or
    no worktree to run it in. Journals ``hook_started`` and ``hook_finished``."""
    hooks = ctx.workflow.policy.hooks
    script = hooks.script(name)
    if script is None or not ctx.worktree.is_dir():
        return None
    timeout_s = hooks.timeout_ms / 1000
    ctx.state.journal("hook_started", hook=name, timeout_s=timeout_s)
    started = time.monotonic()
    code, timed_out, tail = run_script(script, ctx.worktree, hook_env(ctx, name), timeout_s,
                                       sandbox_prefix(ctx))
    run = HookRun(name, code, timed_out, tail, round(time.monotonic() - started, 3),
                  hooks.timeout_ms)
    ctx.state.journal("hook_finished", hook=name, ok=run.ok, exit_code=code,
                      timed_out=timed_out, duration_s=run.duration_s, output_tail=tail)
    return run


# -- after_create (prepare) -------------------------------------------------------------------

def expect_new_worktree(ctx: LaneContext) -> None:
    """Called by prepare before it ensures the worktree: none there yet means the one about
    to be made is new, so ``after_create`` becomes due."""
    if not ctx.worktree.is_dir():
        ctx.state.write(DUE, {"due": True, "at": iso_now()})


def worktree_healed(ctx: LaneContext, step: str) -> None:
    """prepare's report of a repair: a re-created worktree is a new one."""
    ctx.state.journal("worktree_healed", step=step)
    if step.startswith("recreate"):
        ctx.state.write(DUE, {"due": True, "at": iso_now()})


def after_create(ctx: LaneContext) -> None:
    """Run ``after_create`` when due. Failure is fatal to the workspace (Symphony): the new
    worktree is discarded (the branch stays) and the attempt fails, so the next attempt
    creates it again and runs the hook again."""
    if not (ctx.state.read(DUE) or {}).get("due"):
        return
    run = run_hook(ctx, "after_create")
    if run is None or run.ok:
        ctx.state.write(DUE, {"due": False, "at": iso_now()})
        return
    discard(ctx.config.repo_root, ctx.worktree)
    fail_attempt(ctx, "after_create_hook_failed", run.describe())


# -- before_run / after_run (every agent session) ---------------------------------------------

@contextmanager
def around_session(ctx: LaneContext, repair: bool) -> Iterator[None]:
    """``before_run``, the agent session, ``after_run`` (also when the session raised).

    A failing ``before_run`` stops the session before it starts: the attempt fails (and is
    retried within ``max_attempts``); in a review repair round, where there is no attempt to
    retry, the lane takes the attention path."""
    refused = before_run(ctx)
    if refused:
        if repair:
            require_human(ctx, "before_run_hook_failed", f"review repair round: {refused}")
        fail_attempt(ctx, "before_run_hook_failed", refused)
    try:
        yield
    finally:
        after_run(ctx)


def before_run(ctx: LaneContext) -> str | None:
    """Run ``before_run``; the reason the session must not start, or None."""
    try:
        run = run_hook(ctx, "before_run")
    except OSError as exc:
        return f"workspace hook before_run could not start: {exc}"
    return None if run is None or run.ok else run.describe()


def after_run(ctx: LaneContext) -> None:
    """Run ``after_run``; a failure is journaled (by :func:`run_hook`) and ignored, and so is
    an error starting it: the session's own outcome is what counts."""
    try:
        run_hook(ctx, "after_run")
    except Exception as exc:
        ctx.state.journal("hook_error", hook="after_run", error=str(exc))


# -- before_remove (cleanup, cancellation, reconcile) -----------------------------------------

def before_remove(ctx: LaneContext) -> None:
    """Run ``before_remove`` if the worktree is still there; failures are journaled and
    ignored, and removal goes on."""
    try:
        run_hook(ctx, "before_remove")
    except Exception as exc:  # cleanup must proceed whatever the hook did
        ctx.state.journal("hook_error", hook="before_remove", error=str(exc))
