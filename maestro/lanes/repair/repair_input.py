"""A repair round's feedback text, with memory of the round before it.

Without memory, a round whose fix did not work is given the very same text again, and an
agent that missed a thread misses it again. So each round after the first is told:

* what the last round pushed (its commits and the files they changed);
* which feedback is still open, each with why it matters now: a thread whose file the last
  round did not touch, a thread still open although its file changed, a check that failed
  again after the last fix;
* that the last round changed none of the files the feedback named, when so;
* which threads, checks and conflicts were settled since, so the agent does not redo them.

Pure: the open feedback (:func:`maestro.lanes.repair.feedback.collect`) and the previous round's
facts in, text out; tested by a table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from maestro.lanes.repair.feedback import FeedbackItem, render

__all__ = ["PreviousRound", "item_notes", "repair_input"]

#: Commits of the previous round listed at most (a round is usually one or two).
MAX_COMMITS = 10
SETTLED_BY_FORGE = ("thread:", "check:", "conflict")


@dataclass(frozen=True)
class PreviousRound:
    """The last repair round: its number, what it pushed (``commits``: ``"<short> <subject>"``
    oldest first; ``files``: paths it changed) and the feedback it was given (``given``:
    ``(key, path)`` per item, see :class:`FeedbackItem`)."""

    number: int
    commits: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    given: tuple[tuple[str, str], ...] = ()


def item_notes(items: Sequence[FeedbackItem], previous: PreviousRound) -> dict[str, str]:
    """A note per item that was open in the last round too, by key."""
    given = {key for key, _ in previous.given}
    changed = set(previous.files)
    notes = {}
    for item in items:
        if item.key not in given:
            notes[item.key] = "new since the last round"
        elif item.kind == "check":
            notes[item.key] = "failed again after the last round's fix"
        elif item.path and item.path not in changed:
            notes[item.key] = f"still open: the last round did not touch {item.path}"
        elif item.path:
            notes[item.key] = (f"still open although the last round changed {item.path}: "
                               "the reviewer has not settled it and its lines did not change "
                               "as asked")
        else:
            notes[item.key] = "still open after the last round"
    return notes


def _label(key: str) -> str:
    kind, _, name = key.partition(":")
    return f"{kind} {name}".strip()


def repair_input(items: Sequence[FeedbackItem], previous: PreviousRound | None) -> str:
    """The feedback section of a repair round's input."""
    if previous is None:
        return render(items)
    lines = [f"The last repair round (round {previous.number}) pushed:"]
    lines += [f"- {commit}" for commit in previous.commits[-MAX_COMMITS:]] or ["- (no commit)"]
    if len(previous.commits) > MAX_COMMITS:
        lines.append(f"- … and {len(previous.commits) - MAX_COMMITS} earlier commits")
    lines.append("Files it changed: " + (", ".join(previous.files) or "(none)"))
    named = sorted({path for _, path in previous.given if path})
    if named and not set(named) & set(previous.files):
        lines.append(f"It changed none of the files the feedback named ({', '.join(named)}): "
                     "this round, change what the feedback asks for.")
    open_keys = {item.key for item in items}
    # Only the forge settles threads, checks and conflicts; a review or comment merely
    # leaves the list when the head moves, which says nothing about it being answered.
    settled = [_label(key) for key, _ in previous.given
               if key not in open_keys and key.startswith(SETTLED_BY_FORGE)]
    if settled:
        lines.append("Settled since: " + ", ".join(settled) + ".")
    lines += ["", "Still open now:", render(items, item_notes(items, previous))]
    return "\n".join(lines)
