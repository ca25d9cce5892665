"""The poll loop: reconcile, fire due retries, advance waiting lanes, select new work,
dispatch each lane as its own ``maestro lane ID`` process within the concurrency limits.

The orchestrator keeps no state a restart could lose: lanes live in their folders, retries
in ``retries.json``, and leases are OS locks held by the lane processes themselves.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from maestro import logs
from maestro.classify import classify, lane_signals
from maestro.config import ServiceConfig
from maestro.eligibility import dispatch_order, ineligible_reason
from maestro.errors import ConfigError, MaestroError
from maestro.forges import make_forge
from maestro.fsutil import read_json, write_json
from maestro.ids import iso_now, utc_now
from maestro.lanes.context import remember_good_workflow
from maestro.lanes.state import LaneState, lane_folders
from maestro.lanes.workspace import remove_worktree
from maestro.model import Classification, Issue, LaneOutcome
from maestro.retries import RetryQueue
from maestro.trackers import Tracker, make_tracker
from maestro.workflow import Workflow, load_workflow


@dataclass
class LaneView:
    """What the loop knows about one lane folder."""

    identifier: str
    leased: bool
    claimed: bool
    in_review: bool
    finished: bool
    needs_human: bool
    outcome: str
    claim_state: str = ""
    pr_number: int | None = None

    @property
    def in_flight(self) -> bool:
        """Claimed and not yet parked: counts against agent slots."""
        return not (self.in_review or self.finished or self.needs_human) and (
            self.outcome not in (LaneOutcome.TERMINATED.value, LaneOutcome.INTERRUPTED.value,
                                 LaneOutcome.SKIPPED.value))


@dataclass
class Plan:
    dispatch: list[dict[str, str]] = field(default_factory=list)
    reconcile: list[dict[str, str]] = field(default_factory=list)
    retries_waiting: list[dict[str, str]] = field(default_factory=list)
    waiting: list[dict[str, str]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: The tracker's last request to slow down during this tick (shown in status).
    rate_limit: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def issues(self) -> list[str]:
        return [item["issue"] for item in self.dispatch]


class Orchestrator:
    def __init__(self, config: ServiceConfig) -> None:
        self.config = config
        self.retries = RetryQueue(config.state_root)
        self._workflow: Workflow | None = None
        self.running: dict[str, subprocess.Popen[bytes]] = {}
        self._dispatcher: Any = None
        self._warned: set[str] = set()
        self.stopping = False

    # -- policy ----------------------------------------------------------------------------

    def workflow(self) -> Workflow:
        """Re-read WORKFLOW.md each tick; keep the last good version if it turns invalid."""
        try:
            self._workflow = load_workflow(self.config.workflow_path)
            remember_good_workflow(self.config, self._workflow.source.read_text())
            for warning in self._workflow.warnings:
                if warning not in self._warned:
                    self._warned.add(warning)
                    self.warn(warning)
        except ConfigError as exc:
            if self._workflow is None:
                raise
            self.warn(f"keeping the last good workflow: {exc}")
        return self._workflow

    def warn(self, message: str) -> None:
        print(f"maestro: warning: {message}", file=sys.stderr)
        self.config.state_root.mkdir(parents=True, exist_ok=True)
        with (self.config.state_root / "warnings.log").open("a") as handle:
            handle.write(f"{iso_now()} {message}\n")

    # -- lanes on disk ---------------------------------------------------------------------

    def lanes(self) -> dict[str, LaneView]:
        root = self.config.lanes_root
        views: dict[str, LaneView] = {}
        if not root.is_dir():
            return views
        for folder in lane_folders(root):  # a foreign folder is skipped with a warning
            if (folder / "cleanup.json").exists() and folder.name not in self.running:
                # Finished lanes pile up over months; each tick only needs to know they are.
                views[folder.name] = LaneView(folder.name, leased=False, claimed=True,
                                              in_review=False, finished=True,
                                              needs_human=False, outcome="finished")
                continue
            state = LaneState(root, folder.name)
            outcome = (state.read("outcome.json") or {}).get("outcome", "")
            claim = state.read("lease.json") or {}
            pr = state.read("pr.json") or {}
            views[folder.name] = LaneView(
                identifier=folder.name,
                leased=folder.name in self.running or state.is_leased_elsewhere(),
                claimed=state.exists("lease.json"),
                in_review=state.exists("pr.json"),
                finished=state.exists("cleanup.json"),
                needs_human=state.exists("attention.json"),
                outcome=str(outcome),
                claim_state=str(claim.get("state_at_claim", "")),
                pr_number=int(pr["number"]) if pr.get("number") else None,
            )
        return views

    # -- planning --------------------------------------------------------------------------

    def plan(self, dry_run: bool = False) -> Plan:
        """The tick's decisions. A dry run does not even refresh PRs (the local forge runs
        and caches checks when it does); ``maestro plan`` refreshes them read-only."""
        workflow = self.workflow()
        tracker = make_tracker(self.config, workflow)
        try:
            plan = self._plan(tracker, workflow, dry_run)
        finally:
            tracker.close()
        for problem in getattr(tracker, "problems", []):
            plan.warnings.append(problem)
            if problem not in self._warned:
                self._warned.add(problem)
                self.warn(f"issue skipped: {problem}")
        limited = getattr(tracker, "last_rate_limit", None)
        if limited is not None:
            plan.rate_limit = {"operation": limited.operation, "wait_s": limited.wait_s,
                               "source": limited.source, "at": limited.at.isoformat()}
        return plan

    def _review_moves(self, workflow: Workflow, lanes: dict[str, LaneView],
                      issues: dict[str, Issue]) -> dict[str, str]:
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
        policy = workflow.policy
        moves: dict[str, str] = {}
        for number, identifier in waiting.items():
            record = LaneState(self.config.lanes_root, identifier).read("pr.json") or {}
            if record.get("pending_repair"):
                moves[identifier] = "finish repair"
                continue
            issue = issues[identifier]
            signals = lane_signals(pulls.get(number), record, issue.state,
                                   str(record.get("branch", "")), policy)
            decision = classify(signals)
            moves[identifier] = (decision.classification.value
                                 if decision.classification != Classification.REVIEW_WAIT
                                 else "")
            if not moves[identifier]:
                moves[identifier + "\0reason"] = decision.reason
        return moves

    def _plan(self, tracker: Tracker, workflow: Workflow, dry_run: bool = False) -> Plan:
        policy = workflow.policy
        plan = Plan()
        lanes = self.lanes()
        now = utc_now()
        retries = self.retries.load()
        watched = [i for i, v in lanes.items() if not v.finished] + [
            i for i in self.running if i not in lanes]
        refreshed = tracker.fetch(watched) if watched else {}
        busy: Counter[str] = Counter()
        in_flight = 0
        planned: set[str] = set()

        def take(issue_id: str, why: str, state: str) -> None:
            plan.dispatch.append({"issue": issue_id, "reason": why, "state": state})
            planned.add(issue_id)

        # lanes this process started whose folder does not exist yet still hold a slot
        for identifier in self.running:
            if identifier not in lanes:
                lanes[identifier] = LaneView(identifier, True, False, False, False, False, "")
        # 1. reconcile lanes whose issue changed under them (§4)
        for identifier, view in lanes.items():
            if view.finished:
                continue
            issue = refreshed.get(identifier)
            if view.leased and view.in_flight:
                in_flight += 1
                busy[(view.claim_state or (issue.state if issue else "")).casefold()] += 1
            if issue is None:
                continue
            action = self._reconcile_action(view, issue, workflow)
            if action:
                plan.reconcile.append({"issue": identifier, "action": action,
                                       "state": issue.state})
        # 2. retries that are due; 3. lanes waiting on external signals; 4. recovery
        review_moves = {} if dry_run else self._review_moves(workflow, lanes, refreshed)
        reconciled = {item["issue"] for item in plan.reconcile}
        for identifier, view in lanes.items():
            if view.finished or view.leased or view.needs_human or identifier in reconciled:
                continue
            issue = refreshed.get(identifier)
            if issue is None or (policy.tracker.is_terminal(issue.state) and not view.in_review):
                continue
            retry = retries.get(identifier)
            if retry is not None:
                if retry.due(now):
                    take(identifier, f"retry {retry.kind} (attempt {retry.attempt + 1})",
                         issue.state)
                else:
                    plan.retries_waiting.append({"issue": identifier, "due_at": retry.due_at,
                                                 "kind": retry.kind})
                continue
            if view.in_review:
                if dry_run:
                    plan.waiting.append({"issue": identifier, "reason": "review (not "
                                         "refreshed in a dry run)"})
                    continue
                move = review_moves.get(identifier)
                if move:
                    take(identifier, f"advance review ({move})", issue.state)
                else:
                    plan.waiting.append({"issue": identifier, "reason": review_moves.get(
                        identifier + "\0reason", "review pending")})
            elif view.claimed and view.outcome in ("", LaneOutcome.RETRY.value,
                                                   LaneOutcome.INTERRUPTED.value) and (
                    issue.state.casefold() == policy.tracker.in_progress_state.casefold()):
                take(identifier, "recover interrupted lane", issue.state)
        # 5. new work in priority order, within the limits
        limits = policy.execution
        slots = limits.max_concurrent_agents - in_flight
        for item in plan.dispatch:
            if not lanes[item["issue"]].in_review:
                slots -= 1
                busy[item["state"].casefold()] += 1
        candidates = dispatch_order(tracker.candidates(policy.tracker.startable_states))
        by_state = {k.casefold(): v for k, v in limits.max_concurrent_agents_by_state.items()}
        for issue in candidates:
            identifier = issue.identifier
            candidate_lane = lanes.get(identifier)
            if identifier in planned or (candidate_lane and (
                    candidate_lane.leased or candidate_lane.finished)):
                continue
            if candidate_lane and candidate_lane.needs_human and issue.has_label(
                    policy.tracker.needs_attention_label):
                continue
            reason = ineligible_reason(issue, policy.tracker)
            if reason:
                plan.skipped.append({"issue": identifier, "reason": reason})
                continue
            state_key = issue.state.casefold()
            if slots <= 0:
                plan.skipped.append({"issue": identifier, "reason": "no free agent slot "
                                     f"(max_concurrent_agents={limits.max_concurrent_agents})"})
                continue
            if state_key in by_state and busy[state_key] >= by_state[state_key]:
                plan.skipped.append({"issue": identifier, "reason": "no free slot for state "
                                     f"{issue.state} ({by_state[state_key]})"})
                continue
            take(identifier, "new work", issue.state)
            slots -= 1
            busy[state_key] += 1
        return plan

    def _stalled(self, view: LaneView) -> bool:
        """A live lane process whose heartbeat stopped: hung outside the agent protocol
        (the agent client detects silent agents itself)."""
        if not view.leased or (view.identifier in self.running and self.running[
                view.identifier].poll() is not None):
            return False
        activity = LaneState(self.config.lanes_root, view.identifier).read("activity.json")
        last = (activity or {}).get("last_event_at")
        if not last:
            return False
        try:
            idle = (utc_now() - datetime.fromisoformat(last)).total_seconds()
        except ValueError:
            return False
        return idle > self.config.agent.lane_stall_timeout_s

    def _reconcile_action(self, view: LaneView, issue: Issue, workflow: Workflow) -> str:
        policy = workflow.policy.tracker
        if view.in_review or not view.claimed or view.needs_human:
            return ""
        if view.in_flight and self._stalled(view):
            return "stalled"
        if policy.is_terminal(issue.state):
            return "" if view.outcome == LaneOutcome.TERMINATED.value else "terminate"
        active = {policy.in_progress_state.casefold(), policy.success_state.casefold(),
                  *(s.casefold() for s in policy.startable_states)}
        if issue.state.casefold() not in active and view.outcome != LaneOutcome.INTERRUPTED.value:
            return "interrupt"
        return ""

    # -- acting ----------------------------------------------------------------------------

    def apply_reconcile(self, plan: Plan) -> None:
        workflow = self.workflow()
        for item in plan.reconcile:
            identifier, action = item["issue"], item["action"]
            state = LaneState(self.config.lanes_root, identifier)
            holder = state.read("holder.json") or {}
            if action == "stalled":
                self._stop_stalled(identifier, int(holder.get("pid", 0)))
                continue
            if state.is_leased_elsewhere():
                pid = int(holder.get("pid", 0))
                if pid > 0:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGTERM)
                continue
            state.acquire()
            try:
                if action == "terminate":
                    from maestro.ids import branch_name
                    from maestro.lanes.workspace import worktree_path

                    branch = branch_name(identifier, workflow.policy.forge.branch_prefix)
                    remove_worktree(self.config.repo_root,
                                    worktree_path(self.config.workspace_root, identifier), branch)
                    state.write("cleanup.json", {"reason": "terminated",
                                                 "detail": f"issue moved to {item['state']}",
                                                 "cleaned_at": iso_now()})
                outcome = (LaneOutcome.TERMINATED if action == "terminate"
                           else LaneOutcome.INTERRUPTED)
                state.write("outcome.json", {"outcome": outcome.value, "phase": "reconcile",
                                             "reason": f"issue moved to {item['state']}",
                                             "at": iso_now()})
                state.journal("reconciled", action=action, state=item["state"])
                self.retries.release(identifier)
            finally:
                state.release()

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
        argv = [sys.executable, "-m", "maestro"]
        if self.config.source is not None:
            argv += ["--config", str(self.config.source)]
        return [*argv, "lane", identifier, "--quiet"]

    def dispatch(self, identifier: str) -> None:
        """Start the lane here, or trigger its CI job in ``github-actions`` dispatch mode."""
        if self.config.dispatch.mode == "github-actions":
            if self._dispatcher is None:
                from maestro.dispatch import ActionsDispatcher

                self._dispatcher = ActionsDispatcher(self.config)
            sent = self._dispatcher.dispatch(identifier)
            logs.event(self.config, "ci_dispatch", "workflow_dispatch sent" if sent else
                       "already dispatched recently; CI owns the lane", issue=identifier)
            return
        log = self.config.state_root / "logs" / f"{identifier}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            self.running[identifier] = subprocess.Popen(
                self.lane_command(identifier), cwd=self.config.repo_root, stdout=out,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def reap(self, wait: bool = False) -> list[str]:
        """Collect finished lane processes and file their outcomes; returns their ids."""
        done = []
        for identifier, process in list(self.running.items()):
            if wait:
                process.wait()
            if process.poll() is None:
                continue
            del self.running[identifier]
            done.append(identifier)
            self.after_lane(identifier)
        return done

    def after_lane(self, identifier: str) -> None:
        state = LaneState(self.config.lanes_root, identifier)
        outcome = state.read("outcome.json") or {}
        logs.event(self.config, "lane_exit", f"lane process ended: {outcome.get('outcome')}",
                   issue=identifier, phase=outcome.get("phase"), outcome=outcome.get("outcome"))
        if outcome.get("outcome") == LaneOutcome.RETRY.value:
            workflow = self.workflow()
            claim = state.read("lease.json") or {}
            self.retries.schedule(identifier, int(claim.get("attempt", 1)),
                                  str(outcome.get("retry_kind", "failure")),
                                  str(outcome.get("error_class", "")),
                                  workflow.policy.execution.max_retry_backoff_ms)
        else:
            self.retries.release(identifier)

    def tick(self, wait: bool = True) -> Plan:
        """One poll tick; with ``wait`` it returns after the dispatched lanes finished."""
        self.reap()
        plan = self.plan()
        logs.log_plan(self.config, plan.as_dict())
        self.apply_reconcile(plan)
        for item in plan.dispatch:
            if self.stopping:
                break
            self.dispatch(item["issue"])
        if wait:
            self.reap(wait=True)
        write_json(self.config.state_root / "last_tick.json",
                   {"at": iso_now(), "plan": plan.as_dict()})
        return plan

    def daemon(self, poll_interval_s: float, max_ticks: int | None = None,
               refresh_flag: Path | None = None) -> None:
        """Tick forever (or ``max_ticks`` times); SIGTERM/SIGINT stop dispatching and let
        running lanes reach a safe point (they receive SIGTERM and save their state)."""

        def stop(signum: int, frame: Any) -> None:
            self.stopping = True

        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        ticks = 0
        try:
            while not self.stopping:
                self.tick(wait=False)
                ticks += 1
                if max_ticks is not None and ticks >= max_ticks:
                    break
                deadline = time.monotonic() + poll_interval_s
                while time.monotonic() < deadline and not self.stopping:
                    time.sleep(0.2)
                    self.reap()
                    if refresh_flag is not None and refresh_flag.exists():
                        refresh_flag.unlink(missing_ok=True)
                        break
        finally:
            for process in self.running.values():
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            self.reap(wait=True)
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def read_plan(state_root: Path) -> dict[str, Any] | None:
    data = read_json(state_root / "last_tick.json")
    return data if isinstance(data, dict) else None
