"""Log volume per tick independent of the backlog: repeated reasons are logged once.

A daemon over a backlog of hundreds of blocked or slot-starved issues would otherwise write
the same ``skip`` record for each of them every few seconds. Dispatches, reconciles and
warnings are always logged (they are events); ``skipped``, ``waiting`` and
``retries_waiting`` items are logged when their reason is new or changed since the last
tick of this process. The daily token ceiling's hold (``held``) is a standing condition of
the whole tick: it is kept in the quiet plan only on the tick it starts (its reason) or
ends (``""``), else ``None``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["REPEATING", "only_changed"]

#: Plan keys whose items describe a standing condition rather than an event.
REPEATING = ("skipped", "waiting", "retries_waiting")


def _reason(item: dict[str, Any]) -> str:
    return str(item.get("reason") or item.get("due_at") or "")


def only_changed(plan: dict[str, Any], previous: dict[tuple[str, str], str]
                 ) -> tuple[dict[str, Any], dict[tuple[str, str], str]]:
    """``plan`` (as from ``Plan.as_dict``) without the standing items already logged with
    the same reason, and the memory for the next tick: ``{(key, issue): reason}``."""
    memory: dict[tuple[str, str], str] = {}
    quiet = dict(plan)
    for key in REPEATING:
        kept = []
        for item in plan.get(key, []):
            mark = (key, str(item.get("issue", "")))
            memory[mark] = _reason(item)
            if previous.get(mark) != memory[mark]:
                kept.append(item)
        quiet[key] = kept
    held = str(plan.get("held") or "")
    memory[("held", "")] = held
    quiet["held"] = None if previous.get(("held", ""), "") == held else held
    return quiet, memory
