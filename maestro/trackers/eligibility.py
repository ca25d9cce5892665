"""Which issues may start a new lane (SPEC-NOTES §1), as pure functions of tracker data."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from maestro.config.workflow import TrackerPolicy
from maestro.model import Issue
from maestro.statenames import state_key, state_keys

_LATE = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class _Rules:
    """A policy's names folded once: a tick asks about thousands of issues."""

    terminal: frozenset[str]
    startable: frozenset[str]
    in_progress: str
    #: (label as configured, folded) for the opt-out and needs-attention labels
    refusing: tuple[tuple[str, str], ...]
    required: tuple[str, ...]


@lru_cache(maxsize=16)
def _rules_of(terminal: tuple[str, ...], startable: tuple[str, ...], in_progress: str,
              refusing: tuple[str, ...], required: tuple[str, ...]) -> _Rules:
    return _Rules(state_keys(terminal), state_keys(startable), state_key(in_progress),
                  tuple((label, state_key(label)) for label in refusing), required)


def _rules(policy: TrackerPolicy) -> _Rules:
    return _rules_of(tuple(policy.terminal_states), tuple(policy.startable_states),
                     policy.in_progress_state,
                     (policy.opt_out_label, policy.needs_attention_label),
                     tuple(policy.required_labels))


def ineligible_reason(issue: Issue, policy: TrackerPolicy, resuming: bool = False) -> str | None:
    """Why ``issue`` may not start (or resume) a lane now; ``None`` when it may."""
    return _reason(issue, policy, _rules(policy), resuming)


def eligibility(policy: TrackerPolicy) -> Callable[[Issue], str | None]:
    """:func:`ineligible_reason` (not resuming) with ``policy``'s names folded once: what a
    tick asks of every candidate (folding them per issue was a tenth of a 5 000-issue tick)."""
    rules = _rules(policy)
    return lambda issue: _reason(issue, policy, rules, False)


def _reason(issue: Issue, policy: TrackerPolicy, rules: _Rules, resuming: bool) -> str | None:
    state = state_key(issue.state)
    if state in rules.terminal:
        return f"issue is {issue.state} (terminal)"
    if issue.labels:
        present = state_keys(issue.labels)
        for label, folded in rules.refusing:
            if folded in present:
                return f"issue carries the label {label!r}"
    if rules.required:
        missing = missing_required_labels(issue, rules.required)
        if missing:
            return "issue lacks the required label(s) " + ", ".join(repr(m) for m in missing)
    if issue.blocked_by:
        blocking = [ref for ref in issue.blocked_by
                    if state_key(issue.blocker_states.get(ref, "")) not in rules.terminal]
        if blocking:
            return "blocked by " + ", ".join(blocking)
    if state in rules.startable:
        return None
    if resuming and state == rules.in_progress:
        return None
    return (f"issue is {issue.state}; only {', '.join(policy.startable_states)} is picked up "
            "as new work")


def missing_required_labels(issue: Issue, required: Iterable[str]) -> list[str]:
    """The configured ``required_labels`` the issue lacks (Symphony SPEC §5.3.1): matched
    ignoring case and surrounding whitespace on both sides; a blank entry matches no
    issue, so it is always missing."""
    present = state_keys(issue.labels)
    return [label for label in required
            if not state_key(label) or state_key(label) not in present]


def dispatch_order(issues: Iterable[Issue]) -> list[Issue]:
    """Priority (1 = urgent first; none last), then creation time, then identifier."""

    def key(issue: Issue) -> tuple[int, datetime, str]:
        priority = issue.priority if issue.priority and issue.priority > 0 else 10_000
        return priority, issue.created_at or _LATE, issue.identifier

    return sorted(issues, key=key)
