"""Log volume per tick independent of the backlog: repeated reasons are logged once.

A daemon over a backlog of hundreds of blocked or slot-starved issues would otherwise write
the same ``skip`` record for each of them every few seconds. Dispatches, reconciles and
warnings are always logged (they are events); ``skipped``, ``waiting`` and
``retries_waiting`` items are logged when their reason is new or changed since the last
tick of this process. The daily token ceiling's hold (``held``) is a standing condition of
the whole tick: it is kept in the quiet plan only on the tick it starts (its reason) or
ends (``""``), else ``None``.

A tick that has many new standing items at once (a process's first tick over a backlog of
thousands) logs the first :data:`LOGGED_PER_KEY` of each key, in the plan's order, and one
``*_more`` summary counting the rest by reason, so even that tick's log is bounded. Every
issue's reason stays in ``last_tick.json`` and ``maestro status --json``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["LOGGED_PER_KEY", "OTHER_REASONS", "REASONS_PER_SUMMARY", "REPEATING", "only_changed"]

#: Plan keys whose items describe a standing condition rather than an event.
REPEATING = ("skipped", "waiting", "retries_waiting")

#: At most this many new or changed standing items per key are logged one by one per tick.
LOGGED_PER_KEY = 20

#: A ``*_more`` summary names at most this many reasons; the rest are counted together.
REASONS_PER_SUMMARY = 10
OTHER_REASONS = "other reasons"


def _reason(item: dict[str, Any]) -> str:
    return str(item.get("reason") or item.get("due_at") or "")


def _most_common(counts: dict[str, int]) -> dict[str, int]:
    """The :data:`REASONS_PER_SUMMARY` most common reasons, the rest as ``OTHER_REASONS``
    (reasons can be per issue, e.g. "blocked by A-41", and the summary must stay one line)."""
    ranked = sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))
    summary = dict(ranked[:REASONS_PER_SUMMARY])
    rest = sum(count for _, count in ranked[REASONS_PER_SUMMARY:])
    if rest:
        summary[OTHER_REASONS] = rest
    return summary


def only_changed(plan: dict[str, Any], previous: dict[tuple[str, str], str]
                 ) -> tuple[dict[str, Any], dict[tuple[str, str], str]]:
    """``plan`` (as from ``Plan.as_dict``) without the standing items already logged with
    the same reason, and the memory for the next tick: ``{(key, issue): reason}``.

    Past :data:`LOGGED_PER_KEY` new items of one key, the rest are counted in
    ``quiet[f"{key}_more"]``: ``{reason: count}`` (absent when nothing was left out); they
    are remembered like the logged ones, so the next tick stays quiet about them too."""
    memory: dict[tuple[str, str], str] = {}
    quiet = dict(plan)
    for key in REPEATING:
        kept: list[dict[str, Any]] = []
        more: dict[str, int] = {}
        for item in plan.get(key, []):
            mark = (key, str(item.get("issue", "")))
            memory[mark] = _reason(item)
            if previous.get(mark) == memory[mark]:
                continue
            if len(kept) < LOGGED_PER_KEY:
                kept.append(item)
            else:
                reason = str(item.get("reason") or item.get("kind") or key)
                more[reason] = more.get(reason, 0) + 1
        quiet[key] = kept
        if more:
            quiet[f"{key}_more"] = _most_common(more)
    held = str(plan.get("held") or "")
    memory[("held", "")] = held
    quiet["held"] = None if previous.get(("held", ""), "") == held else held
    return quiet, memory
