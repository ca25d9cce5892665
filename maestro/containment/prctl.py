"""prctl(2), the one way maestro sets its process flags (Linux).

Two parts of maestro ask the kernel about a process's lifetime and visibility:
:mod:`~maestro.containment.undumpable` hides maestro's own memory and environment
(``PR_SET_DUMPABLE``), and :mod:`~maestro.containment.reaper`'s supervisor hides its own,
adopts whatever its child orphans and dies with its caller (``PR_SET_CHILD_SUBREAPER``,
``PR_SET_PDEATHSIG``), and with it the agent, hook or validation command it runs.

Standard library only, and ``_ctypes`` only on the first call: the reaper's supervisor runs
this file's folder under ``python -I -S``, and every maestro process imports it at start.
Nothing here raises: where ``prctl`` cannot be called (macOS, a libc without it, a seccomp
profile that forbids it) the answer is -1 and the caller keeps today's behaviour.
"""

from __future__ import annotations

# Not ``typing`` (a few ms of the supervisor's start): names for the type checker only.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36


def prctl(option: int, value: int = 0) -> int:
    """``prctl(option, value, 0, 0, 0)``'s result (0 on success for the ``PR_SET_*``
    options above), or -1 where it cannot be called."""
    try:
        function = _libc_prctl()
        return int(function(option, value, 0, 0, 0))
    except (OSError, AttributeError, ImportError, TypeError):
        return -1


_FUNCTION: list[Any] = []


def _libc_prctl() -> Any:
    """libc's ``prctl`` as a foreign function, looked up once.

    Built from ``_ctypes``, the C module under :mod:`ctypes`, with the same function type
    ``ctypes.CDLL(None, use_errno=True).prctl`` builds (cdecl, errno kept, an ``int``
    result): ``import ctypes`` costs 6-12 ms of a supervisor's 30 ms start (its Python
    layer, ``struct`` and the type classes), ``_ctypes`` under 1 ms. Where ``_ctypes``
    lacks what is used (another Python), :mod:`ctypes` builds it as before."""
    if _FUNCTION:
        return _FUNCTION[0]
    try:
        import _ctypes

        class _CInt(_ctypes._SimpleCData):  # type: ignore[type-arg]  # ctypes.c_int
            _type_ = "i"

        class _Function(_ctypes.CFuncPtr):
            _flags_ = _ctypes.FUNCFLAG_CDECL | _ctypes.FUNCFLAG_USE_ERRNO
            _restype_ = _CInt

        program = _ctypes.dlopen(None)  # type: ignore[arg-type]  # NULL: the program itself
        function: Any = _Function(_ctypes.dlsym(program, "prctl"))
    except (ImportError, AttributeError, TypeError):
        import ctypes

        function = ctypes.CDLL(None, use_errno=True).prctl
    _FUNCTION.append(function)
    return function
