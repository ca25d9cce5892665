"""A ticking process's start-up objects are never garbage: the cyclic collector skips them.

CPython's cyclic garbage collector walks every container object it tracks on each full
collection. Once maestro is imported a process holds about 45 000 of them (modules,
classes, functions, pydantic schemas, the workflow's template) that live until it exits.
The first tick over thousands of issues creates enough long-lived objects (the issues of
the parse cache) to set off a full collection, and that collection spent most of its
time on the start-up objects: about 50 of the 250 ms of CPU of a first tick over 5 000
issues, measured with ``gc.callbacks`` on the 2-CPU development machine (load 7). The
daemon pays it again on every later full collection.

:func:`freeze_startup_objects` moves every object alive at that moment to the permanent
generation (``gc.freeze``), once per process: later collections never walk them again.
Reference counting still frees them as usual; reference cycles among them are never
collected: those already garbage at that moment (28 objects after maestro's imports,
measured) and those alive then and dropped later stay until exit. The freeze happens once,
so what stays is bounded by what the process held before its first tick.
No collection runs first: it would cost the same 40 ms the freeze saves.
"""

from __future__ import annotations

import gc

__all__ = ["freeze_startup_objects"]

_frozen = False


def freeze_startup_objects() -> None:
    """Exempt the objects alive now from every later cyclic collection (once per process)."""
    global _frozen
    if not _frozen:
        _frozen = True
        gc.freeze()
