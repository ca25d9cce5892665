"""prctl(2), the one way maestro sets its process flags (Linux).

Two parts of maestro ask the kernel about a process's lifetime and visibility:
:mod:`~maestro.containment.undumpable` hides maestro's own memory and environment
(``PR_SET_DUMPABLE``), and :mod:`~maestro.containment.reaper`'s supervisor hides its own,
adopts whatever its child orphans and dies with its caller (``PR_SET_CHILD_SUBREAPER``,
``PR_SET_PDEATHSIG``), and with it the agent, hook or validation command it runs.

Standard library only, and ``ctypes`` only on the first call: the reaper's supervisor runs
this file's folder under ``python -I -S``, and every maestro process imports it at start.
Nothing here raises: where ``prctl`` cannot be called (macOS, a libc without it, a seccomp
profile that forbids it) the answer is -1 and the caller keeps today's behaviour.
"""

from __future__ import annotations

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

