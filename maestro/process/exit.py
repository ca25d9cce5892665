"""Leave the heap to the operating system when a maestro process exits.

At exit CPython clears every module and runs its cyclic garbage collector over what that
leaves: a lane process holds about 40 000 tracked objects (pydantic's schemas and
validators, classes, functions, doit's and ruamel.yaml's modules), nearly all of them in
reference cycles, and tearing them down measured 0.1-0.16 s of CPU per process on the
development machine, a fifth of a land run, for memory the operating system takes back
anyway. :func:`skip_heap_teardown` moves every tracked object to the collector's
permanent generation (``gc.freeze``), which the exit collections do not visit.

What still happens at exit: ``atexit`` handlers (``logging.shutdown``,
``weakref.finalize``, the lane's orphan sweep), the flush of the standard streams, and
everything freed by reference counting when the modules are cleared. What no longer
happens: ``__del__`` of objects that only reference cycles still hold at that moment,
which CPython never promised ("It is not guaranteed that ``__del__()`` methods are called
for objects that still exist when the interpreter exits"); maestro releases its locks,
closes its databases and reaps its children explicitly, and the kernel drops a dead
process's ``flock`` locks and descriptors.

Only for a process's own entry point: a test calling ``maestro.cli.main(argv)`` in its
own interpreter must not freeze that interpreter's heap.

A lane forked by a warm worker (:mod:`maestro.orchestration.warm.zygote`) goes further:
:func:`leave_forked` skips the module teardown too. Clearing the modules frees by
reference counting every object the zygote imported, and each free writes to a page the
fork still shares with the zygote, so the kernel copies it first: about 0.05 s of system
time per forked process, whatever it did (a forked ``maestro status`` that stops at once,
measured), 0.13 s per lane of two halves (``bench/bench_lane_cpu.py --launch warm``).
It does what ``Py_FinalizeEx`` does first and the rest of the lane can see, in the same
order, then leaves with ``os._exit``: wait for non-daemon threads
(``threading._shutdown``, which also runs the callbacks of
``threading._register_atexit``), run the ``atexit`` handlers, flush the standard streams
(stdout's failing flush exits 120, as CPython's does). What it skips is what
:func:`skip_heap_teardown` already gave up on, plus ``__del__`` of objects that module
globals still hold: nothing of maestro's keeps state there that a clean exit must write
(its files are written and closed in ``with`` blocks, its logs flushed by
``logging.shutdown``, an ``atexit`` handler). ``multiprocessing`` ends its forked children
the same way (and does not even run ``atexit``).
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import os
import sys
import threading
from typing import NoReturn


def skip_heap_teardown() -> None:
    """Call right before the process exits (see the module docstring)."""
    gc.freeze()


def exit_status(code: object) -> tuple[int, str | None]:
    """The process exit status for a ``SystemExit`` code, and what the interpreter would
    print to stderr, as CPython's own exit does: ``None`` → 0, an int → itself (the kernel
    keeps its low 8 bits), anything else → printed and 1. Pure."""
    if code is None:
        return 0, None
    if isinstance(code, int):
        return int(code) & 0xFF, None
    return 1, str(code)


def leave_forked(code: object) -> NoReturn:
    """End a forked lane process with ``SystemExit(code)``'s status without tearing its
    modules down (see the module docstring).

    As ``Py_FinalizeEx``: an exception while it waits for threads or runs the ``atexit``
    handlers (a SIGTERM turned into ``KeyboardInterrupt`` arriving then) is reported as
    ignored and the exit goes on with ``code``'s status; a closed or missing stdout is not
    flushed and is no failure (exit 120 only when a flush fails)."""
    status, message = exit_status(code)
    if message is not None:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            sys.stderr.write(message + "\n")  # one write, whole even beside a thread's
    for stage in (threading._shutdown,  # type: ignore[attr-defined]  # first, as CPython
                  atexit._run_exitfuncs):
        try:
            stage()
        except BaseException as exc:  # the interpreter's own exit ignores it too
            _report_ignored(exc)
    if not _flushed(sys.stdout):
        status = 120  # as CPython when it cannot flush stdout at exit
    _flushed(sys.stderr)
    os._exit(status)


def _flushed(stream: object) -> bool:
    """Flush ``stream`` unless it is missing or closed; False only when a flush failed."""
    if stream is None or getattr(stream, "closed", False):
        return True
    try:
        stream.flush()  # type: ignore[attr-defined]
    except (OSError, ValueError, AttributeError):
        return False
    return True


def _report_ignored(exc: BaseException) -> None:
    with contextlib.suppress(BaseException):
        print(f"Exception ignored while the lane exited: {exc!r}", file=sys.stderr)
