"""The poll tick's decisions as a pure function: frozen facts in, a typed plan out.

The orchestrator gathers every fact a tick needs first (lanes on
disk, refreshed issues, the retry queue, review decisions, candidates, the clock, the
policy) into one :class:`TickFacts`; :func:`plan_tick` then runs a fixed chain of small
named steps, in the order of the reference algorithm in ``docs/guide/operating.md``:

1. :func:`reconcile` — lanes whose issue changed under them are stopped;
2. :func:`drop_retries` — retry entries no retry can ever use any more are released;
3. :func:`due_retries` — retries whose time has come, within the free agent slots;
4. :func:`advance_reviews` — lanes in review start a process only when they can move;
5. :func:`recover` — lanes a crash, a kill or a reset left unfinished resume;
   :func:`back_off_skips` — a lane whose runs keep ending skipped for the same reason
   waits instead (:mod:`~maestro.orchestration.skip_backoff`);
6. :func:`new_work` — startable issues in priority order, within the limits;
   :func:`hold_silent_lanes` — a lane whose last processes ended without recording why
   (a full disk) is not started again by this daemon;
7. :func:`hold_dispatch` — while an operator holds dispatch (``maestro pause``), nothing
   starts: every dispatch of the steps above waits instead (reconciling still happens).

While the daily token ceiling is reached (``TickFacts.budget``, :mod:`maestro.lanes.budgets.budget`)
steps 3, 4 (review repairs), 5 and 6 start no agent session: the items wait with the hold's
reason, and ``Plan.held`` says it once for the whole tick.

Each step takes the facts and the plan so far and returns a longer plan, so a step can be
tested alone and nothing but the plan carries state between steps. Every lane that runs an
agent (a lane process alive now, whoever started it; a due retry; a recovered lane; new
work) takes one of ``max_concurrent_agents`` slots and one of its state's
``max_concurrent_agents_by_state`` slots: a tick never starts more than are free.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cached_property
from typing import Any

from maestro import statenames
from maestro.config.workflow import TrackerPolicy, WorkflowPolicy
from maestro.lanes.budgets.budget import DailyBudget
from maestro.lanes.record.moves import half_done
from maestro.model import Classification, Issue, LaneOutcome
from maestro.orchestration.retries import Retry
from maestro.orchestration.skip_backoff import SkipStreak, backing_off
from maestro.statenames import same_state
from maestro.trackers.eligibility import dispatch_order, eligibility, missing_required_labels

__all__ = [
    "STEPS",
    "Dispatch",
    "LaneView",
    "Plan",
    "Reconcile",
    "RetryDrop",
    "RetryWaiting",
    "ReviewFact",
    "Skip",
    "TickFacts",
    "Waiting",
    "adopt_unseen_lanes",
    "advance_reviews",
    "agents_busy",
    "back_off_skips",
    "drop_retries",
    "due_retries",
    "free_slots",
    "hold_dispatch",
    "hold_silent_lanes",
    "needs_recovery",
    "new_work",
    "plan_tick",
    "reconcile",
    "reconcile_action",
    "recover",
    "several_status_labels",
    "stale_retry_reason",
    "state_key",
    "status_labels",
]

#: Outcomes after which a claimed lane, not finished, still has work to do.
UNFINISHED_OUTCOMES = frozenset({"", LaneOutcome.RETRY.value, LaneOutcome.INTERRUPTED.value})


# -- facts --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LaneView:
    """What the tick knows about one lane folder (read once, before any decision).

    ``leased``: a live process holds the lane (one this daemon started, or ``maestro lane
    ID`` started by a person); ``last_event_at``: the lane process's heartbeat, only set
    while that process is alive.
    """

    identifier: str
    leased: bool
    claimed: bool
    in_review: bool
    finished: bool
    needs_human: bool
    outcome: str
    claim_state: str = ""
    pr_number: int | None = None
    last_event_at: datetime | None = None
    #: The PR is merged (``merge.json``): nothing is left to cancel, only close-out.
    merged: bool = False
    #: The attempt's tool record shows the agent adding the needs-attention label itself:
    #: that label does not block recovery until the lane has run the attention path.
    asked_for_human: bool = False
    #: Runs in a row that ended skipped for the same reason (``outcome.json``).
    skips: SkipStreak = field(default_factory=SkipStreak)
    #: The last run halted on a signal (``outcome.json``'s ``signalled``: a daemon's stop,
    #: its reconcile, a person's cancel), so its reason names no move of the issue.
    signalled: bool = False
    #: The lane's own attention path was cut before its record (``attention-pending.json``):
    #: its next run finishes it, whatever the issue's state and label.
    attention_pending: bool = False
    #: Where the lane's own move of its issue was going when it was cut (``move.json``,
    #: :mod:`maestro.lanes.record.moves`); read for a lane no process holds.
    moving_to: str | None = None

    @property
    def holds_no_record(self) -> bool:
        """The folder holds nothing of a lane's (no claim, outcome, PR or end): a lane
        process stopped before its claim left only its lock (breaker 21). For the lanes
        of maestro's that have no folder here, such a folder counts as none."""
        return not (self.leased or self.claimed or self.in_review or self.finished
                    or self.needs_human or self.outcome or self.merged)

    @property
    def in_flight(self) -> bool:
        """Claimed and not yet parked: counts against agent slots."""
        return not (self.in_review or self.finished or self.needs_human) and (
            self.outcome not in (LaneOutcome.TERMINATED.value, LaneOutcome.INTERRUPTED.value,
                                 LaneOutcome.SKIPPED.value))

    @property
    def runs_agent(self) -> bool:
        """A live lane process before review: it holds an agent slot whatever its last
        ``outcome.json`` said (a resumed lane keeps the previous run's file until it ends)."""
        return self.leased and not (self.in_review or self.finished or self.needs_human)


@dataclass(frozen=True)
class ReviewFact:
    """The classifier's verdict on one lane waiting in review; ``move`` is empty when the
    lane only waits (``review_wait``), else the class that needs a lane process."""

    move: str
    reason: str = ""


@dataclass(frozen=True)
class TickFacts:
    """Everything one tick decides from. ``reviews`` is ``None`` when PRs were not
    refreshed (a dry run); ``issues`` holds the refreshed issue of every unfinished lane."""

    lanes: Mapping[str, LaneView]
    issues: Mapping[str, Issue]
    retries: Mapping[str, Retry]
    reviews: Mapping[str, ReviewFact] | None
    candidates: tuple[Issue, ...]
    now: datetime
    policy: WorkflowPolicy
    stall_timeout_s: float = 3600.0
    #: ``None`` while dispatch runs; else why it is held (``maestro pause``, in words).
    paused: str | None = None
    #: Tokens spent today against ``max_tokens_per_day`` (unlimited by default).
    budget: DailyBudget = field(default_factory=DailyBudget)
    #: Lane processes of this daemon, per issue, that ended in a row without recording why
    #: (:func:`hold_silent_lanes`).
    silent_ends: Mapping[str, int] = field(default_factory=dict)
    #: Issues in the in-progress or success state that carry a run of maestro's (its
    #: ``start`` comment block) and have no lane folder here (:func:`adopt_unseen_lanes`).
    unseen: tuple[Issue, ...] = ()
    #: Open issues listed this tick in the in-progress or success state (lane or not).
    claimed: tuple[Issue, ...] = ()

    @property
    def held(self) -> str:
        """Why no agent session may start this tick ("" when one may)."""
        return self.budget.hold_reason()

    @cached_property
    def by_state(self) -> dict[str, int]:
        """``max_concurrent_agents_by_state`` keyed by casefolded state."""
        limits = self.policy.execution.max_concurrent_agents_by_state
        return {state_key(state): cap for state, cap in limits.items()}


# -- plan items -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Dispatch:
    """Start ``maestro lane ISSUE``; ``agent``: it will run an agent (takes a slot)."""

    issue: str
    reason: str
    state: str
    agent: bool = True

    def as_dict(self) -> dict[str, str]:
        return {"issue": self.issue, "reason": self.reason, "state": self.state}


@dataclass(frozen=True)
class Reconcile:
    """Stop a lane: ``terminate``, ``interrupt`` or ``stalled``. ``signal_only``: the lane
    is in review, so only its live process is stopped; its own cancel path closes the PR."""

    issue: str
    action: str
    state: str
    signal_only: bool = False

    def as_dict(self) -> dict[str, str]:
        return {"issue": self.issue, "action": self.action, "state": self.state}


@dataclass(frozen=True)
class RetryWaiting:
    """A retry not started this tick: not due yet, or due with no free slot (``reason``)."""

    issue: str
    due_at: str
    kind: str
    reason: str = ""

    def as_dict(self) -> dict[str, str]:
        found = {"issue": self.issue, "due_at": self.due_at, "kind": self.kind}
        return {**found, "reason": self.reason} if self.reason else found


@dataclass(frozen=True)
class RetryDrop:
    """Release the retry entry of ``issue``: its lane can never use it (``reason``)."""

    issue: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"issue": self.issue, "reason": self.reason}


@dataclass(frozen=True)
class Waiting:
    issue: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"issue": self.issue, "reason": self.reason}


@dataclass(frozen=True)
class Skip:
    issue: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"issue": self.issue, "reason": self.reason}


@dataclass(frozen=True)
class Plan:
    """The tick's decisions, typed. The list-of-dict views (``dispatch``, ``reconcile``…)
    and :meth:`as_dict` are the JSON of ``maestro run --dry-run --json`` and
    ``last_tick.json``."""

    dispatches: tuple[Dispatch, ...] = ()
    reconciles: tuple[Reconcile, ...] = ()
    retries_later: tuple[RetryWaiting, ...] = ()
    waits: tuple[Waiting, ...] = ()
    skips: tuple[Skip, ...] = ()
    retry_drops: tuple[RetryDrop, ...] = ()
    warnings: tuple[str, ...] = ()
    #: The tracker's last request to slow down during this tick (shown in status).
    rate_limit: Mapping[str, Any] | None = field(default=None)
    #: The daily token ceiling holds every new agent session ("" when it does not).
    held: str = ""

    @property
    def dispatch(self) -> list[dict[str, str]]:
        return [item.as_dict() for item in self.dispatches]

    @property
    def reconcile(self) -> list[dict[str, str]]:
        return [item.as_dict() for item in self.reconciles]

    @property
    def retries_waiting(self) -> list[dict[str, str]]:
        return [item.as_dict() for item in self.retries_later]

    @property
    def waiting(self) -> list[dict[str, str]]:
        return [item.as_dict() for item in self.waits]

    @property
    def skipped(self) -> list[dict[str, str]]:
        return [item.as_dict() for item in self.skips]

    @property
    def retries_dropped(self) -> list[dict[str, str]]:
        return [item.as_dict() for item in self.retry_drops]

    def as_dict(self) -> dict[str, Any]:
        return {"dispatch": self.dispatch, "reconcile": self.reconcile,
                "retries_waiting": self.retries_waiting,
                "retries_dropped": self.retries_dropped, "waiting": self.waiting,
                "skipped": self.skipped, "warnings": list(self.warnings),
                "rate_limit": dict(self.rate_limit) if self.rate_limit is not None else None,
                "held": self.held or None}

    def issues(self) -> list[str]:
        return [item.issue for item in self.dispatches]

    def handled(self) -> set[str]:
        """Lanes some earlier step already decided about."""
        return {item.issue for group in (self.dispatches, self.reconciles, self.retries_later,
                                         self.waits) for item in group}


# -- limits ---------------------------------------------------------------------------------


def state_key(state: str) -> str:
    """A state as the limits compare it (Symphony SPEC §4.2: trimmed, lowercased), by the
    one comparison of state names, :func:`maestro.statenames.state_key`."""
    return statenames.state_key(state)


def agents_busy(facts: TickFacts, plan: Plan) -> Counter[str]:
    """Agents per (casefolded) state: live lane processes, then this plan's agent starts."""
    busy: Counter[str] = Counter()
    for identifier, view in facts.lanes.items():
        if view.runs_agent:
            issue = facts.issues.get(identifier)
            busy[state_key(view.claim_state or (issue.state if issue else ""))] += 1
    for item in plan.dispatches:
        if item.agent:
            busy[state_key(item.state)] += 1
    return busy


def free_slots(facts: TickFacts, busy: Counter[str], state: str) -> tuple[bool, str]:
    """Whether one more agent may start for an issue in ``state`` while ``busy`` agents
    (per casefolded state, from :func:`agents_busy`) run; else why not."""
    cap = facts.policy.execution.max_concurrent_agents
    if busy.total() >= cap:
        return False, f"no free agent slot (max_concurrent_agents={cap})"
    key = state_key(state)
    if key in facts.by_state and busy[key] >= facts.by_state[key]:
        return False, f"no free slot for state {state} ({facts.by_state[key]})"
    return True, ""


def as_moving(view: LaneView, issue: Issue, policy: TrackerPolicy) -> Issue:
    """The issue as the tick must judge it: one the lane's own move left half-way (an
    open GitHub issue with the target's status label beside the old one, ``move.json``
    naming the target) is in the state it was going to (breaker 23 F3); its lane,
    resumed, finishes the move."""
    if half_done(policy, view.moving_to, issue) and view.moving_to is not None:
        return issue.model_copy(update={"state": view.moving_to})
    return issue


# -- 1. reconcile ---------------------------------------------------------------------------


def _stalled(view: LaneView, facts: TickFacts) -> bool:
    if not view.leased or view.last_event_at is None:
        return False
    return (facts.now - view.last_event_at).total_seconds() > facts.stall_timeout_s


def reconcile_action(view: LaneView, issue: Issue, facts: TickFacts) -> str:
    """How to stop a lane whose issue changed under it ("" to leave it alone)."""
    policy = facts.policy.tracker
    if view.needs_human:
        # A person cancelling a lane that waits on them is their answer: the cancel's
        # finish closes its PR (breaker 22); any other change leaves it to them.
        cancelled = (policy.is_cancelled(issue.state) and not view.leased
                     and not view.finished and view.outcome != LaneOutcome.TERMINATED.value)
        return "terminate" if cancelled else ""
    if view.in_review:
        # Only a live process needs stopping; a parked lane in review takes its own cancel
        # path (PR closed with a comment) when advance_reviews dispatches it, and is held
        # while the issue carries the needs-attention label.
        if not view.leased or view.merged:
            # merged: the lane itself moved the issue to its done state and is closing
            # out; stopping it would stop the cleanup on every tick, forever.
            return ""
        if policy.is_terminal(issue.state):
            return "terminate"
        return "interrupt" if issue.has_label(policy.needs_attention_label) else ""
    if not view.claimed:
        return ""
    if view.in_flight and _stalled(view, facts):
        return "stalled"
    if policy.is_terminal(issue.state):
        return "" if view.outcome == LaneOutcome.TERMINATED.value else "terminate"
    active = policy.working_states()
    routable = not missing_required_labels(issue, policy.required_labels)
    if (state_key(issue.state) not in active or not routable) and (
            view.outcome != LaneOutcome.INTERRUPTED.value or view.signalled or view.leased):
        # A live process is stopped whatever its previous run's record says; one the
        # daemon stopped for this very move halted on the signal alone: its record then
        # says so ("issue moved to Backlog"), once (breaker 22).
        return "interrupt"
    return ""


def reconcile(facts: TickFacts, plan: Plan) -> Plan:
    found = []
    for identifier, view in facts.lanes.items():
        issue = facts.issues.get(identifier)
        if view.finished or issue is None:
            continue
        action = reconcile_action(view, issue, facts)
        if action:
            found.append(Reconcile(identifier, action, issue.state, signal_only=view.in_review))
    return replace(plan, reconciles=plan.reconciles + tuple(found))


# -- 2. retry entries nobody will use --------------------------------------------------------


def stale_retry_reason(view: LaneView | None, issue: Issue | None,
                       policy: WorkflowPolicy) -> str:
    """Why a retry entry can never fire ("" while it still can).

    Only ``after_lane`` (the daemon reaping the lane process) releases an entry; a daemon
    killed before it reaps leaves the entry behind, and :func:`due_retries` skips lanes that
    are finished or wait for a person, so without this the entry stays forever. A lane a
    live process holds is left to whoever reaps it."""
    if view is None:
        return "no lane folder"
    if view.finished:
        return "lane finished"
    if view.leased:
        return ""
    if view.needs_human:
        return "lane needs a human"
    if view.outcome == LaneOutcome.TERMINATED.value:
        return "lane terminated"
    if issue is None:
        return "issue gone"
    if policy.tracker.is_terminal(issue.state) and not view.in_review:
        return f"issue is {issue.state}"
    return ""


def drop_retries(facts: TickFacts, plan: Plan) -> Plan:
    """Release retry entries whose lane ended, needs a human, or whose issue is gone."""
    drops = []
    for identifier in sorted(facts.retries):
        reason = stale_retry_reason(facts.lanes.get(identifier), facts.issues.get(identifier),
                                    facts.policy)
        if reason:
            drops.append(RetryDrop(identifier, reason))
    return replace(plan, retry_drops=plan.retry_drops + tuple(drops))


# -- 3. due retries -------------------------------------------------------------------------


def _parked(facts: TickFacts, plan: Plan) -> list[tuple[LaneView, Issue]]:
    """Lanes no process holds, not finished, not waiting on a person, not decided yet,
    whose issue is known (and not terminal, unless the lane is in review: cancel path)."""
    handled = plan.handled()
    terminal = facts.policy.tracker.is_terminal
    found = []
    for identifier, view in facts.lanes.items():
        issue = facts.issues.get(identifier)
        if (view.finished or view.leased or view.needs_human or identifier in handled
                or issue is None or (terminal(issue.state) and not view.in_review)):
            continue
        found.append((view, issue))
    return found


def due_retries(facts: TickFacts, plan: Plan) -> Plan:
    dropped = {item.issue for item in plan.retry_drops}
    queued = [(facts.retries[view.identifier], view, issue) for view, issue in
              _parked(facts, plan) if view.identifier in facts.retries
              and view.identifier not in dropped]
    queued.sort(key=lambda entry: (entry[0].due_at, entry[1].identifier))
    busy = agents_busy(facts, plan)
    for retry, view, issue in queued:
        if not retry.due(facts.now):
            plan = replace(plan, retries_later=(*plan.retries_later, RetryWaiting(
                view.identifier, retry.due_at, retry.kind)))
            continue
        agent = not view.in_review
        free, why = free_slots(facts, busy, issue.state) if agent else (True, "")
        if agent and facts.held:
            free, why = False, facts.held
        if free:
            busy[state_key(issue.state)] += agent
            plan = replace(plan, dispatches=(*plan.dispatches, Dispatch(
                view.identifier, f"retry {retry.kind} (attempt {retry.attempt + 1})",
                issue.state, agent)))
        else:
            plan = replace(plan, retries_later=(*plan.retries_later, RetryWaiting(
                view.identifier, retry.due_at, retry.kind, f"due; {why}")))
    return plan


# -- 4. lanes waiting in review ---------------------------------------------------------------


def advance_reviews(facts: TickFacts, plan: Plan) -> Plan:
    policy = facts.policy.tracker
    for view, issue in _parked(facts, plan):
        if not view.in_review:
            continue
        if facts.reviews is None:
            item = Waiting(view.identifier, "review (not refreshed in a dry run)")
        elif issue.has_label(policy.needs_attention_label) and not policy.is_terminal(
                issue.state):
            item = Waiting(view.identifier, "held: the issue carries the label "
                           f"{policy.needs_attention_label!r}; never merged while it does")
        else:
            fact = facts.reviews.get(view.identifier, ReviewFact("", "review pending"))
            if fact.move == Classification.REVIEW_REPAIR.value and facts.held:
                fact = ReviewFact("", f"{fact.move}: {facts.held}")
            if fact.move:
                plan = replace(plan, dispatches=(*plan.dispatches, Dispatch(
                    view.identifier, f"advance review ({fact.move})", issue.state, False)))
                continue
            item = Waiting(view.identifier, fact.reason or "review pending")
        plan = replace(plan, waits=(*plan.waits, item))
    return plan


# -- 5. recovery ----------------------------------------------------------------------------


def needs_recovery(view: LaneView, issue: Issue, policy: WorkflowPolicy) -> bool:
    """An unfinished pipeline nobody runs: the lane folder says work remains and the
    tracker says the lane owns the issue (In Progress, or the success state before the PR
    record was written, e.g. a kill right after the move to In Review). A claimed lane
    with a clean outcome, or a lane reset by ``maestro lane --reset`` (no claim, no
    outcome: its claim rebuilds from the tracker's ``maestro:state`` comments). Startable
    issues are not recovered here: they come back as new work."""
    tracker = policy.tracker
    if view.attention_pending and not view.needs_human:
        return True  # its own attention path, cut half-way: the run finishes it
    if view.in_review or issue.has_label(tracker.opt_out_label):
        return False
    if issue.has_label(tracker.needs_attention_label) and not (
            view.asked_for_human and not view.needs_human):
        return False
    if same_state(issue.state, tracker.in_progress_state):
        return view.outcome in UNFINISHED_OUTCOMES
    # In the success state (a working state) a lane before its handoff resumes when it
    # died without a word or was interrupted: a signal (a daemon's restart mid-handoff) or
    # a person's move away and back (breaker 22). A lane that halted otherwise (retry,
    # waiting, skipped) stays put, or every tick would start it again.
    return same_state(issue.state, tracker.success_state) and view.outcome in (
        "", LaneOutcome.INTERRUPTED.value)


def recover(facts: TickFacts, plan: Plan) -> Plan:
    busy = agents_busy(facts, plan)
    for view, issue in _parked(facts, plan):
        if view.identifier in facts.retries or not needs_recovery(view, issue, facts.policy):
            continue
        if missing := missing_required_labels(issue, facts.policy.tracker.required_labels):
            # The reconcile stops such a lane, so starting it would loop; the person
            # reads why it waits (breaker 24 F4).
            plan = replace(plan, waits=(*plan.waits, Waiting(
                view.identifier, "not resumed: the issue lacks the required label(s) "
                f"{', '.join(map(repr, missing))} (tracker.required_labels)")))
            continue
        free, why = (False, facts.held) if facts.held else free_slots(facts, busy, issue.state)
        if free:
            busy[state_key(issue.state)] += 1
            plan = replace(plan, dispatches=(*plan.dispatches, Dispatch(
                view.identifier, "recover interrupted lane", issue.state)))
        else:
            plan = replace(plan, waits=(*plan.waits, Waiting(
                view.identifier, f"recovery waits: {why}")))
    return plan


def adopt_unseen_lanes(facts: TickFacts, plan: Plan) -> Plan:
    """A lane of maestro's whose folder is not here (deleted, a state root restored from
    an older backup, a fresh CI runner) while its issue is In Progress or In Review: no
    other step sees it, so it would wait forever. Its lane process rebuilds it from
    maestro's comment blocks and the forge (``maestro.lanes.record.rebuild``). In review
    it needs no agent slot; in progress it will run the agent, so it takes one. One whose
    issue a person cancelled while its PR was open needs no slot either: its lane closes
    the PR. Labels a person set (opt-out, needs-attention) keep it where it is."""
    policy = facts.policy.tracker
    busy = agents_busy(facts, plan)
    handled = plan.handled()
    for issue in facts.unseen:
        identifier = issue.identifier
        here = facts.lanes.get(identifier)
        if identifier in handled or (here is not None and not here.holds_no_record):
            continue
        held_by = next((label for label in (policy.opt_out_label, policy.needs_attention_label)
                        if issue.has_label(label)), None)
        if held_by is not None:
            plan = replace(plan, waits=(*plan.waits, Waiting(identifier, (
                f"no lane folder here, and the issue carries the label {held_by!r}: "
                "left to a person"))))
            continue
        handled.add(identifier)
        reason = f"adopt: the issue is {issue.state} with no lane folder here"
        if policy.is_terminal(issue.state):  # its lane only closes its open PR
            reason += ", and its PR is open"
        if same_state(issue.state, policy.success_state) or policy.is_terminal(issue.state):
            plan = replace(plan, dispatches=(*plan.dispatches, Dispatch(
                identifier, reason, issue.state, False)))
            continue
        free, why = (False, facts.held) if facts.held else free_slots(facts, busy, issue.state)
        if free:
            busy[state_key(issue.state)] += 1
            plan = replace(plan, dispatches=(*plan.dispatches, Dispatch(
                identifier, reason, issue.state)))
        else:
            plan = replace(plan, waits=(*plan.waits, Waiting(identifier,
                                                             f"{reason}; waits: {why}")))
    return plan


def back_off_skips(facts: TickFacts, plan: Plan) -> Plan:
    """Planned starts of lanes whose runs keep ending skipped for the same reason wait
    (before new work, so the slots they would have taken go to new work)."""
    kept: list[Dispatch] = []
    waits: list[Waiting] = []
    for item in plan.dispatches:
        view = facts.lanes.get(item.issue)
        why = backing_off(view.skips, facts.now) if view is not None else ""
        if why:
            waits.append(Waiting(item.issue, why))
        else:
            kept.append(item)
    if not waits:
        return plan
    return replace(plan, dispatches=tuple(kept), waits=plan.waits + tuple(waits))


# -- 6. new work ----------------------------------------------------------------------------


def new_work(facts: TickFacts, plan: Plan) -> Plan:
    policy = facts.policy.tracker
    busy = agents_busy(facts, plan)
    handled = plan.handled()
    skips: list[Skip] = []
    started: list[Dispatch] = []
    # asked once per tick, not per candidate: a backlog of thousands is mostly skips
    why_not, held = eligibility(policy), facts.held
    #: free_slots' answer per issue state, valid until the next start changes ``busy``
    no_slot: dict[str, str] = {}
    for issue in dispatch_order(facts.candidates):
        identifier = issue.identifier
        lane = facts.lanes.get(identifier)
        if identifier in handled or (lane and lane.leased):
            continue
        if lane and lane.finished:  # a person moved the issue back after the lane ended
            skips.append(Skip(identifier, reopened(identifier, issue.state)))
            continue
        if lane and lane.needs_human and issue.has_label(policy.needs_attention_label):
            continue
        reason = why_not(issue) or (backing_off(lane.skips, facts.now) if lane else None)
        if not reason:
            reason = held or no_slot.get(issue.state)
            if reason is None:
                reason = no_slot[issue.state] = free_slots(facts, busy, issue.state)[1]
        if reason:
            skips.append(Skip(identifier, reason))
            continue
        handled.add(identifier)
        busy[state_key(issue.state)] += 1
        no_slot.clear()
        started.append(Dispatch(identifier, "new work", issue.state))
    return replace(plan, dispatches=plan.dispatches + tuple(started),
                   skips=plan.skips + tuple(skips))


def reopened(identifier: str, state: str) -> str:
    """The skip reason of an issue in a startable state whose lane has finished (merged,
    or cancelled): maestro never runs a finished lane again on its own, since only a
    person knows whether the reopen asks for new work; the reason says how to ask."""
    return (f"its lane finished before the issue was moved back to {state}; "
            f"`maestro retry {identifier}` archives that lane and starts a new one")


# -- 7. an operator's hold ------------------------------------------------------------------


def hold_dispatch(facts: TickFacts, plan: Plan) -> Plan:
    """While paused, every planned start waits with the hold's reason; lane processes
    already running go on, and reconciling (a person's cancel) still happens."""
    if facts.paused is None or not plan.dispatches:
        return plan
    held = tuple(Waiting(item.issue, f"held: {facts.paused}") for item in plan.dispatches)
    return replace(plan, dispatches=(), waits=plan.waits + held)


def status_labels(policy: TrackerPolicy, issue: Issue) -> tuple[str, ...]:
    """The status labels (``tracker.state_labels``) ``issue`` carries, in the map's order;
    only on a tracker whose state is a label (GitHub Issues) and for an open issue. Pure."""
    if not policy.moves_in_steps() or policy.is_terminal(issue.state):
        return ()
    return tuple(label for label in policy.state_labels.values() if issue.has_label(label))


def several_status_labels(facts: TickFacts, plan: Plan) -> Plan:
    """Say so when an issue in a state a lane holds, with no lane here, carries more than
    one status label (breaker 25 F6): GitHub gives people labels, not a state field, and a
    person who adds ``status:todo`` beside ``status:in-progress`` asks for something
    maestro does not do (a held state wins, so the issue is never new work). A standing
    item, so the tick log says it once: a skip, unless the plan already decided about the
    issue (an adopted lane, a reconcile, another skip). A lane's issue is left out (breaker
    26 L4, L5): its own move adds the new label before it removes the old, and its next
    move keeps one label (docs/guide/trackers.md)."""
    tracked = facts.policy.tracker
    decided = plan.handled() | {item.issue for item in plan.skips}
    skips: list[Skip] = []
    for issue in sorted(facts.claimed, key=lambda issue: issue.identifier):
        identifier = issue.identifier
        view = facts.lanes.get(identifier)
        labels = status_labels(tracked, issue)
        if len(labels) < 2 or identifier in decided or not (
                view is None or view.finished or view.holds_no_record):
            continue
        decided.add(identifier)
        skips.append(Skip(identifier, (
            f"carries {len(labels)} status labels ({', '.join(labels)}) and reads as "
            f"{issue.state}, a state a lane holds, so it is not new work; take off the "
            "status label that is not meant")))
    return replace(plan, skips=plan.skips + tuple(skips)) if skips else plan


#: Lane processes in a row that may end without a record before the lane is held.
SILENT_LIMIT = 3


def hold_silent_lanes(facts: TickFacts, plan: Plan) -> Plan:
    """A lane whose last :data:`SILENT_LIMIT` processes ended without recording why (its
    outcome, its failure: the disk was full, the state folder unwritable) is not started
    again by this daemon: each start may run the agent once more, and an end that records
    nothing counts no attempt, so nothing else would bound it."""
    silent = {issue for issue, count in facts.silent_ends.items() if count >= SILENT_LIMIT}
    held = tuple(item for item in plan.dispatches if item.issue in silent)
    if not held:
        return plan
    waits = tuple(Waiting(item.issue, (
        f"held: its last {facts.silent_ends[item.issue]} lane processes ended without "
        "recording why (a full disk? see the service log and warnings.log); restart the "
        "daemon once it is fixed")) for item in held)
    return replace(plan, dispatches=tuple(i for i in plan.dispatches if i not in held),
                   waits=plan.waits + waits)


#: The tick, in the order of ``docs/guide/operating.md`` ("The poll loop").
STEPS: tuple[Callable[[TickFacts, Plan], Plan], ...] = (
    reconcile, drop_retries, due_retries, advance_reviews, recover, adopt_unseen_lanes,
    back_off_skips, new_work, hold_silent_lanes, hold_dispatch, several_status_labels)


def plan_tick(facts: TickFacts) -> Plan:
    """Run every step in order over ``facts``; the same facts always give the same plan."""
    plan = Plan(held=facts.held)
    for step in STEPS:
        plan = step(facts, plan)
    return plan
