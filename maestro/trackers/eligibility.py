"""Which issues may start a new lane (SPEC-NOTES §1), as pure functions of tracker data."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from maestro.config.workflow import TrackerPolicy
from maestro.model import Issue

_LATE = datetime.max.replace(tzinfo=UTC)


def ineligible_reason(issue: Issue, policy: TrackerPolicy, resuming: bool = False) -> str | None:
    """Why ``issue`` may not start (or resume) a lane now; ``None`` when it may."""
    if policy.is_terminal(issue.state):
        return f"issue is {issue.state} (terminal)"
    for label in (policy.opt_out_label, policy.needs_attention_label):
        if issue.has_label(label):
            return f"issue carries the label {label!r}"
    missing = missing_required_labels(issue, policy.required_labels)
    if missing:
        return "issue lacks the required label(s) " + ", ".join(repr(m) for m in missing)
    blocking = [ref for ref in issue.blocked_by
                if not policy.is_terminal(issue.blocker_states.get(ref, ""))]
    if blocking:
        return "blocked by " + ", ".join(blocking)
    if policy.is_startable(issue.state):
        return None
    if resuming and issue.state.casefold() == policy.in_progress_state.casefold():
        return None
    return (f"issue is {issue.state}; only {', '.join(policy.startable_states)} is picked up "
            "as new work")


def missing_required_labels(issue: Issue, required: Iterable[str]) -> list[str]:
    """The configured ``required_labels`` the issue lacks (Symphony SPEC §5.3.1): matched
    ignoring case and surrounding whitespace on both sides; a blank entry matches no
    issue, so it is always missing."""
    present = {label.strip().casefold() for label in issue.labels}
    return [label for label in required
            if not label.strip() or label.strip().casefold() not in present]


def dispatch_order(issues: Iterable[Issue]) -> list[Issue]:
    """Priority (1 = urgent first; none last), then creation time, then identifier."""

    def key(issue: Issue) -> tuple[int, datetime, str]:
        priority = issue.priority if issue.priority and issue.priority > 0 else 10_000
        return priority, issue.created_at or _LATE, issue.identifier

    return sorted(issues, key=key)
