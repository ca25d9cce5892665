"""The ``Tracker`` protocol every issue source implements.

Reads are batched (one call refreshes many issues) so that a poll tick costs a constant
number of requests; writes are idempotent so that a phase interrupted after its side effect
can run again safely.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

from maestro.model import Comment, Issue


@runtime_checkable
class Tracker(Protocol):
    name: str

    def candidates(self, states: Sequence[str]) -> list[Issue]:
        """Issues of the configured project whose state is one of ``states``."""
        ...

    def fetch(self, identifiers: Sequence[str]) -> dict[str, Issue]:
        """Refresh many issues in one batch; unknown identifiers are absent from the result."""
        ...

    def get(self, identifier: str) -> Issue:
        """One issue; raises ``UnknownIssueError`` when it does not exist."""
        ...

    def transition(self, identifier: str, state: str,
                   unless: Callable[[str], bool] | None = None) -> bool:
        """Move the issue to ``state``; returns False when it was already there (no-op).
        ``unless``: judged on the issue's state as read right before the write (the files
        tracker: in the same locked read-modify-write; Linear and GitHub: the read that
        precedes the mutation); when true nothing is written and
        :class:`~maestro.errors.IssueStateChanged` is raised."""
        ...

    def comment(self, identifier: str, body: str) -> Comment: ...

    def comments(self, identifier: str) -> list[Comment]: ...

    def add_label(self, identifier: str, label: str) -> bool:
        """Add a label; False if already present; ``LabelMissingError`` if it does not exist."""
        ...

    def remove_label(self, identifier: str, label: str) -> bool: ...

    def close(self) -> None: ...
