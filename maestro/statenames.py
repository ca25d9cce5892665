"""One way to compare tracker state names and labels.

Why: a state name arrives from people (issue files, WORKFLOW.md), from trackers (Linear,
GitHub) and from the agent (``issue_transition``). When each place compared with its own
``casefold()``, an agent could write ``" Done"``, ``"DONE\\t"`` or ``"Done\\u00a0"``: the policy
check said "not Done", the tracker stored it, and later checks (which strip) said "Done" — the
lane ended and the issue closed without a merge. Every comparison of state names and labels
goes through :func:`state_key`, and a name that must become a write is first resolved to the
one configured spelling by :func:`resolve_state`.

The key: Unicode NFKC (so compatibility forms such as a no-break space or full-width letters
become their plain form), format characters (category ``Cf``: zero-width space, joiners,
direction marks) dropped, whitespace runs collapsed to one space and trimmed, then
``casefold()``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from functools import lru_cache

__all__ = ["plain_form", "resolve_state", "same_state", "state_key", "state_keys"]


@lru_cache(maxsize=4096)  # a tracker has few distinct names; a tick compares them often
def state_key(name: str) -> str:
    """The comparison key of a state name or label: ``" DONE\\u00a0"`` -> ``"done"``."""
    return " ".join(plain_form(name).split()).casefold()


def plain_form(text: str) -> str:
    """``text`` in NFKC with its format characters (category ``Cf``: zero-width space,
    joiners, direction marks) dropped: what a disguised spelling reads as. Pure."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


def same_state(a: str, b: str) -> bool:
    """True when the two names mean the same state (or label)."""
    return state_key(a) == state_key(b)


def state_keys(names: Iterable[str]) -> frozenset[str]:
    """The keys of ``names``, for membership tests with :func:`state_key`."""
    return frozenset(state_key(name) for name in names)


def resolve_state(requested: str, known: Iterable[str]) -> str | None:
    """The one spelling in ``known`` that ``requested`` means, or None.

    None when no known name matches, or when two different spellings match (a
    configuration that names the same state twice cannot say which one is meant); the
    caller refuses the request then, it never writes ``requested`` as given."""
    wanted = state_key(requested)
    matches = {name for name in known if state_key(name) == wanted}
    return matches.pop() if len(matches) == 1 else None
