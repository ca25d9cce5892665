"""The poll loop: reconcile, fire due retries, advance waiting lanes, select new work,
dispatch each lane as its own ``maestro lane ID`` process within the concurrency limits.

The orchestrator keeps no state a restart could lose: lanes live in their folders, retries
in ``retries.json``, and leases are OS locks held by the lane processes themselves.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from maestro.config.service import ServiceConfig
from maestro.config.workflow import Workflow, load_workflow
from maestro.errors import ConfigError, MaestroError, TrackerError, exhausted
from maestro.forges import make_forge
from maestro.fsutil import read_json, write_json
from maestro.ids import iso_now, utc_now
from maestro.lanes.budgets.spend import daily_budget
from maestro.lanes.cancel import finish_recorded_cancels
from maestro.lanes.context import remember_good_workflow
from maestro.lanes.guard import agent_asked_for_human
from maestro.lanes.outcomes import ATTENTION_PENDING
from maestro.lanes.record.listing import list_lanes
from maestro.lanes.record.moves import pending_move
from maestro.lanes.record.state import LaneState
from maestro.lanes.repair.classify import classify, lane_signals
from maestro.lanes.worktree.unpushed import kept_for_a_person
from maestro.model import Classification, Issue, LaneOutcome
from maestro.observability import logs, telemetry
from maestro.orchestration import tick_priority
from maestro.orchestration.dispatch_latency import eligible_new_work
from maestro.orchestration.dispatch_latency import settle as settle_latency
from maestro.orchestration.early_start import first_starts
from maestro.orchestration.heap import freeze_startup_objects
from maestro.orchestration.pause import hold_reason
from maestro.orchestration.planning import (
    LaneView,
    Plan,
    ReviewFact,
    TickFacts,
    as_moving,
    plan_tick,
)
from maestro.orchestration.refresh import log_request, take_request, wait_for_request
from maestro.orchestration.retries import RetryQueue
from maestro.orchestration.skip_backoff import streak_of
from maestro.orchestration.startup import sweep_terminal_workspaces
from maestro.orchestration.tick_log import only_changed
from maestro.orchestration.unseen import LanePrs, UnseenLanes
from maestro.orchestration.warm.launcher import LaneLauncher, LaneProcess
from maestro.orchestration.warm.protocol import maestro_command
from maestro.statenames import same_state
from maestro.trackers import Tracker, make_tracker


class Orchestrator:
    def __init__(self, config: ServiceConfig) -> None:
        freeze_startup_objects()  # a process that ticks: see maestro/orchestration/heap.py
        self.config = config
        self.retries = RetryQueue(config.state_root)
        self._workflow: Workflow | None = None
        self.running: dict[str, LaneProcess] = {}
        self.started_at: dict[str, float] = {}  # wall time of each running lane's start
        self.silent_ends: dict[str, int] = {}  # see _count_silent_end
        self.launcher = LaneLauncher(self.warn)  # cold; the daemon may make it warm
        self._dispatcher: Any = None
        self._warned: set[str] = set()
        #: Skip and wait reasons last logged, so a steady backlog is not logged every tick.
        self._reasons: dict[tuple[str, str], str] = {}
        self.stopping = False
        #: Issues this tick started before its review refresh (early_start.py).
        self.started_early: set[str] = set()
        #: Lanes of maestro's with no folder here (unseen.py).
        self.unseen = UnseenLanes()

    # -- policy ----------------------------------------------------------------------------

    def workflow(self) -> Workflow:
        """Re-read WORKFLOW.md each tick; keep the last good version if it turns invalid."""
        try:
            self._workflow = load_workflow(self.config.workflow_path)
            remember_good_workflow(self.config, self._workflow.source.read_text())
            for warning in self._workflow.warnings:
                self.warn_once(warning)
        except ConfigError as exc:
            if self._workflow is None:
                raise
            self.warn_once(f"keeping the last good workflow: {exc}")
        return self._workflow

    def warn_once(self, message: str, prefix: str = "") -> None:
        """Warn about ``message`` the first time this process sees it, not every tick."""
        if message not in self._warned:
            self._warned.add(message)
            self.warn(prefix + message)

    def warn(self, message: str) -> None:
        print(f"maestro: warning: {message}", file=sys.stderr)
        with contextlib.suppress(OSError):  # a full disk must not end the daemon
            self.config.state_root.mkdir(parents=True, exist_ok=True)
            with (self.config.state_root / "warnings.log").open("a") as handle:
                handle.write(f"{iso_now()} {message}\n")

    # -- lanes on disk ---------------------------------------------------------------------

    def lanes(self) -> dict[str, LaneView]:
        """Every lane folder as a view; folders that are not lanes are skipped with one
        warning each per process (they never stop the tick)."""
        root = self.config.lanes_root
        listing = list_lanes(root)
        for warning in listing.warnings():
            self.warn_once(warning)
        views: dict[str, LaneView] = {}
        label = (self._workflow.policy.tracker.needs_attention_label
                 if self._workflow is not None else None)
        for identifier in listing.identifiers:
            process = self.running.get(identifier)
            alive = process is not None and process.poll() is None
            if (root / identifier / "cleanup.json").exists() and not alive:
                # Finished lanes pile up over months; each tick only needs to know they are.
                views[identifier] = LaneView(identifier, leased=False, claimed=True,
                                             in_review=False, finished=True,
                                             needs_human=False, outcome="finished")
                continue
            views[identifier] = self._view(LaneState(root, identifier), alive, label)
        # lanes this process started whose folder does not exist yet still hold a slot
        for identifier in self.running:
            views.setdefault(identifier, LaneView(identifier, True, False, False, False,
                                                  False, ""))
        return views

    def _view(self, state: LaneState, alive: bool,
              attention_label: str | None = None) -> LaneView:
        ended = _record(state, "outcome.json")
        outcome = ended.get("outcome", "")
        claim = _record(state, "lease.json")
        number = _record(state, "pr.json").get("number")
        leased = alive or state.is_leased_elsewhere()
        last = _record(state, "activity.json").get("last_event_at") if leased else None
        try:
            last_event_at = datetime.fromisoformat(last) if isinstance(last, str) else None
        except ValueError:
            last_event_at = None
        return LaneView(
            identifier=state.identifier, leased=leased, claimed=state.exists("lease.json"),
            in_review=state.exists("pr.json"), finished=state.exists("cleanup.json"),
            needs_human=state.exists("attention.json"), outcome=str(outcome),
            claim_state=str(claim.get("state_at_claim", "")),
            pr_number=number if isinstance(number, int) and number > 0 else None,
            last_event_at=last_event_at, merged=state.exists("merge.json"),
            asked_for_human=not leased and attention_label is not None and
            agent_asked_for_human(state.path("tools.jsonl"), attention_label),
            attention_pending=not leased and state.exists(ATTENTION_PENDING),
            skips=streak_of(ended), signalled=ended.get("signalled") is True,
            moving_to=pending_move(state) if not leased else None)

    # -- planning --------------------------------------------------------------------------

    def plan(self, dry_run: bool = False, start_early: bool = False) -> Plan:
        """The tick's decisions: gather the facts, then
        :func:`~maestro.orchestration.planning.plan_tick`.
        A dry run does not even refresh PRs (the local forge runs and caches checks when it
        does); ``maestro plan`` refreshes them read-only. ``start_early``: new work starts
        before the PRs are refreshed (:mod:`~maestro.orchestration.early_start`)."""
        with tick_priority.planning():  # the operator server stands back meanwhile
            return self._plan(dry_run, start_early)

    def _plan(self, dry_run: bool, start_early: bool = False) -> Plan:
        workflow = self.workflow()
        tracker = make_tracker(self.config, workflow)
        try:
            facts = self.facts(tracker, workflow, dry_run, start_early)
            plan = plan_tick(facts)
        finally:
            tracker.close()
        if not dry_run:
            telemetry.current().saw_eligible(eligible_new_work(facts), facts.now)
        warnings = list(plan.warnings)
        for problem in getattr(tracker, "problems", []):
            warnings.append(problem)
            self.warn_once(problem, prefix="issue skipped: ")
        limited = getattr(tracker, "last_rate_limit", None)
        rate_limit = None if limited is None else {
            "operation": limited.operation, "wait_s": limited.wait_s,
            "source": limited.source, "at": limited.at.isoformat()}
        return replace(plan, warnings=tuple(warnings), rate_limit=rate_limit)

    def facts(self, tracker: Tracker, workflow: Workflow, dry_run: bool = False,
              start_early: bool = False) -> TickFacts:
        """Read everything the tick decides from, once, before any decision (with
        ``start_early``, new work starts before the PRs in review are refreshed)."""
        policy = workflow.policy
        lanes = self.lanes()
        retries = self.retries.load()
        for problem in self.retries.problems:
            self.warn_once(problem)
        watched = [i for i, v in lanes.items() if not v.finished]
        tracked = policy.tracker
        issues = {identifier: as_moving(lanes[identifier], issue, tracked)
                  for identifier, issue in (tracker.fetch(watched) if watched else {}).items()}
        now = utc_now()
        # One query for the startable states and the two a lane of maestro's holds.
        listed = tracker.candidates([*tracked.startable_states, tracked.in_progress_state,
                                     tracked.success_state])
        candidates = tuple(i for i in listed if tracked.is_startable(i.state))
        claimed = [i for i in listed if not tracked.is_startable(i.state)]
        facts = TickFacts(
            lanes=lanes, issues=issues, retries=retries, reviews=None,
            candidates=candidates, claimed=tuple(claimed),
            unseen=() if dry_run else self._unseen(tracker, workflow, claimed, lanes,
                                                   [i.identifier for i in listed]),
            now=now, policy=policy,
            stall_timeout_s=self.config.agent.lane_stall_timeout_s,
            paused=hold_reason(self.config.state_root),
            budget=daily_budget(self.config.state_root, policy.budget, now),
            silent_ends=dict(self.silent_ends))
        if start_early and not dry_run:
            for identifier in first_starts(facts):
                if not self.stopping:
                    self.dispatch(identifier)
                    self.started_early.add(identifier)
        if dry_run:
            return facts
        return replace(facts, reviews=self._review_facts(workflow, lanes, issues))

    def _unseen(self, tracker: Tracker, workflow: Workflow, claimed: list[Issue],
                lanes: dict[str, LaneView], listed: list[str]) -> tuple[Issue, ...]:
        """Lanes of maestro's with no folder here: In Progress or In Review, and (at most
        every few minutes) cancelled by a person while their PR is open (unseen.py)."""
        prs = LanePrs(self.config, workflow)
        # A folder holding no record of a lane (a process stopped before its claim) is none.
        recorded = [identifier for identifier, view in lanes.items()
                    if not view.holds_no_record]
        try:
            found = self.unseen.find(tracker, claimed, recorded, prs.has_pr)
            cancelled = self.unseen.find_cancelled(
                tracker, prs.open_prs, listed, recorded, workflow.policy.forge.branch_prefix,
                workflow.policy.tracker)
            return (*found, *cancelled)
        finally:
            prs.close()

    def _review_facts(self, workflow: Workflow, lanes: dict[str, LaneView],
                      issues: dict[str, Issue]) -> dict[str, ReviewFact]:
        """Classify every lane in review with ONE forge refresh; only lanes whose class is
        not ``review_wait`` need a lane process this tick."""
        waiting = {v.pr_number: i for i, v in lanes.items()
                   if v.in_review and v.pr_number and not (v.finished or v.needs_human
                                                            or v.leased) and i in issues}
        if not waiting:
            return {}
        forge = make_forge(self.config, workflow)
        try:
            pulls = forge.refresh(list(waiting))
        finally:
            forge.close()
        facts: dict[str, ReviewFact] = {}
        for number, identifier in waiting.items():
            record = _record(LaneState(self.config.lanes_root, identifier), "pr.json")
            issue_state = issues[identifier].state
            if record.get("pending_repair") and same_state(
                    issue_state, workflow.policy.tracker.success_state):
                # Only while the issue is in review: one a person moved away is classified
                # as any lane in review is (the lane does not push its repair then).
                facts[identifier] = ReviewFact("finish repair")
                continue
            signals = lane_signals(pulls.get(number), record, issue_state,
                                   str(record.get("branch", "")), workflow.policy)
            decision = classify(signals)
            waits = decision.classification == Classification.REVIEW_WAIT
            facts[identifier] = ReviewFact("" if waits else decision.classification.value,
                                           decision.reason)
        return facts

    # -- acting ----------------------------------------------------------------------------

    def apply_reconcile(self, plan: Plan) -> None:
        workflow = self.workflow()
        for entry in plan.reconciles:
            identifier, action, item = entry.issue, entry.action, entry.as_dict()
            state = LaneState(self.config.lanes_root, identifier)
            holder = state.read("holder.json") or {}
            if holder.get("role") == "operator" and state.is_leased_elsewhere():
                continue  # a person's command (maestro cancel) holds the lane: it decides,
                # even when the lane looks stalled (a hung lane is when people cancel)
            if action == "stalled":
                self._stop_stalled(identifier, int(holder.get("pid", 0)))
                continue
            if entry.signal_only or state.is_leased_elsewhere():
                # A lane in review is only stopped here; the next tick sends it down its
                # own cancel path (PR closed with a comment) or holds it for the person.
                if state.exists("merge.json"):
                    # It merged since the tick read it, and then closed its issue (which
                    # the tick read later): it only closes out now (breaker 25 F4).
                    continue
                pid = int(holder.get("pid", 0))
                if pid > 0:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGTERM)
                continue
            if action == "terminate" and kept_for_a_person(state.read("cleanup.json")):
                continue  # an operator's cancel kept this worktree and its record: both stand
            if action == "terminate" and workflow.policy.tracker.is_cancelled(item["state"]):
                self._finish_tracker_cancel(identifier, str(item["state"]))
                continue
            state.acquire()
            try:
                if action == "terminate":
                    kept = self._retire(identifier)
                    from maestro.lanes.worktree.retire import record_stop

                    record_stop(state, "terminated", f"issue moved to {item['state']}", kept)
                outcome = (LaneOutcome.TERMINATED if action == "terminate"
                           else LaneOutcome.INTERRUPTED)
                state.write("outcome.json", {"outcome": outcome.value, "phase": "reconcile",
                                             "reason": f"issue moved to {item['state']}",
                                             "at": iso_now()})
                state.journal("reconciled", action=action, state=item["state"])
                self.retries.release(identifier)
            finally:
                state.release()

    def _retire(self, identifier: str) -> str | None:
        """Retire the worktree of a lane whose issue a person moved to a terminal state
        other than a cancel (Done before a merge): removed, unless it holds work found
        nowhere else; returns what is kept, or None."""
        from maestro.lanes.context import LaneContext
        from maestro.lanes.worktree.retire import lane_work, retire

        ctx = LaneContext(self.config, identifier)
        try:
            work = lane_work(ctx)
            retire(ctx, work)
            return work.kept(ctx.branch)
        finally:
            ctx.close()

    def _finish_tracker_cancel(self, identifier: str, issue_state: str) -> None:
        """A person cancelled the issue in the tracker: the cancel's own finish (the lane's
        open PR closed with a comment naming the move, the worktree removed unless it holds
        unpushed work, ``terminated``), as ``maestro cancel`` does. Before this, a lane
        stopped before its handoff (the agent's PR tool had opened the PR) or one waiting
        on a person only lost its worktree, and its PR stayed open (breaker 22)."""
        from maestro.lanes.cancel import by_tracker, finish
        from maestro.lanes.context import LaneContext

        ctx = LaneContext(self.config, identifier)
        try:
            ctx.state.acquire()
        except MaestroError as exc:  # taken meanwhile: the next tick looks again
            self.warn(f"lane {identifier}: cancelled in the tracker, not closed yet: {exc}")
            ctx.close()
            return
        try:
            finish(ctx, by=by_tracker(issue_state))
            self.retries.release(identifier)
        except MaestroError as exc:  # one lane's forge or tracker trouble stops nothing else
            self.warn(f"lane {identifier}: cancelled in the tracker, not closed yet: {exc}")
        finally:
            ctx.close()
            ctx.state.release()

    def _stop_stalled(self, identifier: str, pid: int) -> None:
        """Kill the hung lane process, then take the attention path for it: a stall is
        never silently retried (SPEC-NOTES §3)."""
        from maestro.lanes.context import LaneContext
        from maestro.lanes.outcomes import Halt, require_human

        running = self.running.pop(identifier, None)
        for target in {pid, running.pid if running else 0} - {0}:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(target, signal.SIGKILL)
        if running is not None:
            running.wait()
        ctx = LaneContext(self.config, identifier)
        for _ in range(50):
            try:
                ctx.state.acquire()
                break
            except MaestroError:
                time.sleep(0.1)
        else:
            self.warn(f"lane {identifier} stalled but its lock is still held")
            return
        try:
            require_human(ctx, "stalled", f"no heartbeat from the lane process for more than "
                          f"{self.config.agent.lane_stall_timeout_s:g}s; it was killed")
        except Halt as halt:
            ctx.state.write("outcome.json", {"outcome": halt.outcome.value,
                                             "phase": "reconcile", "reason": halt.reason,
                                             "error_class": "stalled", "at": iso_now()})
        finally:
            ctx.close()
        self.retries.release(identifier)

    def lane_command(self, identifier: str) -> list[str]:
        argv = maestro_command()
        if self.config.source is not None:
            argv += ["--config", str(self.config.source)]
        argv += ["--workflow", str(self.config.workflow_path)]  # as the loop read it
        return [*argv, "lane", identifier, "--quiet"]

    def dispatch(self, identifier: str) -> None:
        """Start the lane here, or trigger its CI job in ``github-actions`` dispatch mode."""
        if self.config.dispatch.mode == "github-actions":
            if self._dispatcher is None:
                from maestro.orchestration.dispatch import ActionsDispatcher

                self._dispatcher = ActionsDispatcher(self.config)
            sent = self._dispatcher.dispatch(identifier)
            logs.event(self.config, "ci_dispatch", "workflow_dispatch sent" if sent else
                       "already dispatched recently; CI owns the lane", issue=identifier)
            return
        log = self.config.state_root / "logs" / f"{identifier}.log"
        self.started_at[identifier] = time.time()
        self.running[identifier] = self.launcher.start(self.lane_command(identifier),
                                                       self.config.repo_root, log)

    def reap(self, wait: bool = False) -> list[str]:
        """Collect finished lane processes and file their outcomes; returns their ids."""
        done = []
        for identifier, process in list(self.running.items()):
            if wait:
                process.wait()
            if (returncode := process.poll()) is None:
                continue
            del self.running[identifier]
            done.append(identifier)
            self.after_lane(identifier, returncode)
        return done

    def after_lane(self, identifier: str, returncode: int | None = None) -> None:
        """File a lane process's end; ``returncode`` as Popen reports it (negative: killed
        by that signal; 255: a warm lane whose zygote died before relaying its status)."""
        state = LaneState(self.config.lanes_root, identifier)
        outcome = state.read("outcome.json") or {}
        self._count_silent_end(state, identifier, returncode)
        ended = f"exit {returncode}" if returncode is None or returncode >= 0 else (
            f"killed by {_signal_name(-returncode)}")
        logs.event(self.config, "lane_exit",
                   f"lane process ended ({ended}): {outcome.get('outcome')}",
                   issue=identifier, phase=outcome.get("phase"), outcome=outcome.get("outcome"),
                   returncode=returncode)
        if outcome.get("outcome") == LaneOutcome.RETRY.value:
            workflow = self.workflow()
            claim = state.read("lease.json") or {}
            self.retries.schedule(identifier, int(claim.get("attempt", 1)),
                                  str(outcome.get("retry_kind", "failure")),
                                  str(outcome.get("error_class", "")),
                                  workflow.policy.execution.max_retry_backoff_ms)
        else:
            self.retries.release(identifier)

    def _count_silent_end(self, state: LaneState, identifier: str,
                          returncode: int | None) -> None:
        """A failed lane process that wrote no outcome since it started ends silently
        (:func:`~maestro.orchestration.planning.hold_silent_lanes`); any other end resets
        the issue's count."""
        started = self.started_at.pop(identifier, None)
        try:
            recorded = (state.dir / "outcome.json").stat().st_mtime
        except OSError:
            recorded = None
        silent = returncode not in (0, None) and started is not None and (
            recorded is None or recorded < started)
        if silent:
            self.silent_ends[identifier] = self.silent_ends.get(identifier, 0) + 1
        else:
            self.silent_ends.pop(identifier, None)

    def tick(self, wait: bool = True) -> Plan:
        """One poll tick; with ``wait`` it returns after the dispatched lanes finished."""
        started = time.monotonic()
        self.reap()
        # A person's cancel recorded by a command that died half-way is finished first.
        finish_recorded_cancels(self.config, self.warn, self.retries.release)
        self.started_early = set()
        plan = self.plan(start_early=True)
        quiet, self._reasons = only_changed(plan.as_dict(), self._reasons)
        logs.log_plan(self.config, quiet)
        self.apply_reconcile(plan)
        for drop in plan.retry_drops:
            self.retries.release(drop.issue)
        for item in plan.dispatch:
            if self.stopping:
                break
            if item["issue"] not in self.started_early:  # see early_start.py
                self.dispatch(item["issue"])
        if wait:
            self.reap(wait=True)
        write_json(self.config.state_root / "last_tick.json",
                   {"at": iso_now(), "plan": plan.as_dict()})
        settle_latency(self.config.lanes_root, telemetry.current())
        telemetry.current().record_tick(time.monotonic() - started, len(plan.dispatches))
        return plan

    def daemon(self, poll_interval_s: float, max_ticks: int | None = None,
               refresh_flag: Path | None = None) -> None:
        """Tick forever (or ``max_ticks`` times); SIGTERM/SIGINT stop dispatching and let
        running lanes reach a safe point (they receive SIGTERM and save their state)."""

        def stop(signum: int, frame: Any) -> None:
            self.stopping = True

        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        ticks = 0
        dispatch = self.config.dispatch
        self.launcher = LaneLauncher(self.warn, self.config.state_root / "logs",
                                     dispatch.warm_workers, dispatch.warm_restart_after_lanes)
        try:
            self.launcher.prepare(self.config.repo_root)
            sweep_terminal_workspaces(self.config, self.workflow(), self.lanes())
            while not self.stopping:
                try:
                    self.tick(wait=False)
                except TrackerError as exc:  # this tick's read failed; the next one retries
                    self.warn(f"tick skipped, the tracker read failed: {exc}")
                except OSError as exc:  # a full disk, no descriptor left: ticking goes on
                    if (why := exhausted(exc)) is None:
                        raise
                    self.warn(f"tick cut short: {why}; the next tick tries again")
                ticks += 1
                if max_ticks is not None and ticks >= max_ticks:
                    break
                deadline = time.monotonic() + poll_interval_s
                while (left := deadline - time.monotonic()) > 0 and not self.stopping:
                    wait_for_request(min(0.2, left))
                    try:
                        self.reap()
                        if refresh_flag is not None and (asked := take_request(refresh_flag)):
                            log_request(self.config, asked)
                            break
                    except OSError as exc:  # as in the tick: a warning, then on
                        if (why := exhausted(exc)) is None:
                            raise
                        self.warn(f"waiting for the next tick: {why}")
                        time.sleep(min(1.0, max(0.0, left)))
        finally:
            for process in self.running.values():
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            self.reap(wait=True)
            self.launcher.close()
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _record(state: LaneState, name: str) -> dict[str, Any]:
    """A lane file as a dict; an empty, truncated, non-UTF-8 or non-object file reads as
    absent here, so one damaged lane never stops the tick (the lane itself reports it)."""
    try:
        value = state.read(name)
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def read_plan(state_root: Path) -> dict[str, Any] | None:
    data = read_json(state_root / "last_tick.json")
    return data if isinstance(data, dict) else None


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
