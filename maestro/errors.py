"""Errors a person sees.

Every error that reaches the command line is a :class:`MaestroError`; the CLI prints its
message and exits with its ``exit_code`` and never a traceback, so each subclass must carry a
message that names the file, key or argument at fault and what was expected.
"""

from __future__ import annotations

import errno


class MaestroError(Exception):
    """A failure explained to the operator; the CLI exits with ``exit_code``."""

    exit_code = 1


class ConfigError(MaestroError):
    """A bad ``maestro.toml`` or ``WORKFLOW.md`` (exit code 2, like a usage error)."""

    exit_code = 2


class InputError(MaestroError):
    """A bad argument or identifier given on the command line or by a tracker."""

    exit_code = 2


class LaneLeasedError(MaestroError):
    """Another live process holds the lane; working it too would duplicate side effects."""

    exit_code = 3


class LaneLostError(LaneLeasedError):
    """The lane folder this process holds was deleted or replaced under it (a person's
    ``rm -rf``, a restored backup, a cancel that made a new folder): what it would write
    belongs to no lane it holds, so it writes nothing more."""


class DaemonRunningError(MaestroError):
    """Another live ``maestro daemon`` (or ``run --once``) drives this state root; two
    would dispatch the same issues."""

    exit_code = 3


class TrackerError(MaestroError):
    """The tracker refused or failed a request."""


class IssueFileError(TrackerError):
    """An issue file of the files tracker is not a usable issue (invalid YAML, a field of
    the wrong type): bad input a person can fix, so exit 2; still a ``TrackerError``, so a
    tick skips the one file and plans the rest."""

    exit_code = 2


class RateLimitedError(TrackerError):
    """The tracker or forge asked us to slow down; ``retry_after`` is in seconds."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class LabelMissingError(TrackerError):
    """The label does not exist in the tracker (SPEC-NOTES §3 guarded fallback)."""


class UnknownIssueError(TrackerError):
    """No issue with that identifier exists in the configured project."""

    exit_code = 2


class IssueStateChanged(TrackerError):
    """A conditional transition found the issue in a state that forbids it (read right
    before the write); nothing was written. ``state`` is the state found."""

    def __init__(self, message: str, state: str) -> None:
        super().__init__(message)
        self.state = state


class ForgeError(MaestroError):
    """The forge refused or failed a request (push, PR, merge)."""


class ForeignHeadError(ForgeError):
    """A push would have dropped commits on the remote lane branch that maestro did not
    push (a person's or another tool's): nothing was pushed. ``head`` is the remote's."""

    def __init__(self, message: str, head: str) -> None:
        super().__init__(message)
        self.head = head


class WorkspaceError(MaestroError):
    """A git worktree could not be created, inspected or removed."""


#: The machine ran out of something: an operator's matter, not a bug of maestro's.
EXHAUSTED = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EMFILE, errno.ENFILE})


def exhausted(exc: OSError) -> str | None:
    """One line for a full disk or a process out of file descriptors (what to do included;
    every maestro write is atomic, so what was written before stays whole); None for any
    other ``OSError``."""
    if exc.errno not in EXHAUSTED:
        return None
    where = f": {exc.filename}" if exc.filename else ""
    hint = ("free some space" if exc.errno in (errno.ENOSPC, errno.EDQUOT)
            else "raise the open-file limit (ulimit -n) or close what holds them")
    return f"{exc.strerror or exc}{where}; {hint}"
