"""prctl(2), the one way maestro sets its process flags (Linux).

Three parts of maestro ask the kernel about a process's lifetime and visibility:
:mod:`~maestro.containment.undumpable` hides maestro's own memory and environment
(``PR_SET_DUMPABLE``), :mod:`~maestro.containment.reaper`'s supervisor adopts whatever its
child orphans and dies with its caller (``PR_SET_CHILD_SUBREAPER``, ``PR_SET_PDEATHSIG``),
and the agents die with the lane process (:func:`die_with_parent`).

Standard library only, and ``ctypes`` only on the first call: the reaper's supervisor runs
this file's folder under ``python -I -S``, and every maestro process imports it at start.
Nothing here raises: where ``prctl`` cannot be called (macOS, a libc without it, a seccomp
profile that forbids it) the answer is -1 and the caller keeps today's behaviour.
"""

from __future__ import annotations

if __package__:
    import signal
else:  # the reaper's supervisor: the same numbers without ``signal.py``'s enums
    import _signal as signal  # type: ignore[no-redef]

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36


def prctl(option: int, value: int = 0) -> int:
    """``prctl(option, value, 0, 0, 0)``'s result (0 on success for the ``PR_SET_*``
    options above), or -1 where it cannot be called."""
    try:
        import ctypes

        return int(ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0))
    except (OSError, AttributeError):
        return -1


def die_with_parent() -> None:
    """Ask for SIGKILL when the parent dies (even by ``kill -9``); a ``preexec_fn`` for the
    agent processes, so a resumed lane never races an orphaned agent in the same worktree."""
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
