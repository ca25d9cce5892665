"""The ``Forge`` protocol: where lane branches are pushed, reviewed and merged."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from maestro.model import PullRequest


@runtime_checkable
class Forge(Protocol):
    name: str

    def push(self, worktree: Path, branch: str, head: str | None = None,
             replaceable: Collection[str] = ()) -> str:
        """Push the worktree's HEAD to the lane branch; returns the pushed commit. ``head``:
        that HEAD, when the caller has just read it with nothing but maestro's own code run
        since (None: read here). The remote's head of the branch is replaced only when the
        push contains it (a fast-forward) or it is one of ``replaceable`` (heads maestro
        pushed before: an amend or rebase of the lane's own work), and only if it is still
        that head when the push lands (``--force-with-lease``); otherwise
        :class:`~maestro.errors.ForeignHeadError` and nothing is pushed."""
        ...

    def fetch(self, *refspecs: str) -> bool:
        """Fetch ``refspecs`` from the forge's remote into the repository, from its root
        (where a relative remote URL resolves) and authenticated exactly as a push is: the
        token from maestro's memory, never the repository's or the user's git config.
        Returns False when the remote refused or could not be reached; callers then fall
        back to the refs they already have."""
        ...

    def find_pr(self, branch: str) -> PullRequest | None:
        """The newest PR whose head is ``branch``, open or not."""
        ...

    def open_prs(self, prefix: str) -> list[PullRequest]:
        """The open PRs from branches of this repository (never a fork's) whose name starts
        with ``prefix``, newest first: the lanes' PRs, for a tick that must find those of
        lanes with no folder here. A forge may stop after a bounded number of PRs."""
        ...

    def open_pr(self, branch: str, base: str, title: str, body: str) -> PullRequest:
        """Find-or-create the lane's open PR (idempotent); never a draft."""
        ...

    def refresh(self, numbers: Sequence[int]) -> dict[int, PullRequest]:
        """Current state of many PRs in one batch (reviews, threads, checks, mergeability)."""
        ...

    def merge(self, number: int, expected_head: str, method: str) -> str:
        """Merge if the head is still ``expected_head``; returns the merge commit.
        Already merged is success (idempotent)."""
        ...

    def delete_branch(self, branch: str) -> None: ...

    def close_pr(self, number: int, comment: str = "") -> None:
        """Close without merging (the issue was cancelled or stopped by a person), first
        posting ``comment`` on the PR when given, so its readers see why. Closed or merged
        is a no-op (no second comment)."""
        ...

    def failing_check_logs(self, pr: PullRequest) -> dict[str, str]:
        """Evidence a refresh does not carry, read only when a repair round needs it: per
        failing check name, the failing tail of its log (cut at line boundaries, secrets
        redacted). A forge whose checks already carry their output returns ``{}``; a log
        that cannot be read is a one-line note, never an error."""
        ...

    def resolve_threads(self, number: int) -> None:
        """Resolve the PR's review threads (an operator's tool). A lane never calls it: a
        reviewer's thread is the reviewer's to resolve, or the forge's when it is outdated."""
        ...

    def close(self) -> None: ...
