"""No cyclic garbage collection while a lane process starts up.

A cold ``maestro lane`` imports pydantic with maestro's config, workflow and issue models,
doit, ruamel.yaml and filelock, and builds the config, the workflow policy and doit's
tasks before its first phase starts: about 45 000 long-lived container objects (modules,
classes, functions, pydantic schemas), none of which is ever garbage. CPython's cyclic
collector runs every 700 net allocations and walks them again and again on the way:
about 100 ms of CPU in the first half of a lane (claim to review wait: 116 young, 11
middle and one full collection) and 40 ms in the land half, measured with
``gc.callbacks`` on the 2-CPU development machine at load 4, out of 1.2 and 0.7 s.

:func:`pause_collector` switches the cyclic collector off at the process's entry;
:func:`startup_over` (called when the first phase starts) moves everything alive at that
moment to the permanent generation (``gc.freeze``) and switches the collector back on,
so the phases (the agent session may run for hours) are collected as usual and never walk
the start-up objects again; the collections left measured 1-4 ms per lane process.
Reference counting frees objects as usual throughout; only reference cycles that became
garbage during start-up (a few dozen objects) stay until exit.

Only a process's own entry pauses the collector: ``maestro.cli.main`` without ``argv``
for the ``lane`` command (``maestro lane ID``, the lanes ``maestro run`` and the daemon
start), and ``maestro.pipeline.doit_namespace`` without ``argv`` when every task doit
was asked for is a lane (``doit lane:ID ...``; a run that names any other task, say a
user's own in ``dodo.py``, keeps the collector on, since only a lane phase would switch
it back on). A test calling ``main(argv)`` or running a phase in its own interpreter
never finds its collector paused or its heap frozen, because :func:`startup_over` acts
only when :func:`pause_collector` switched the collector off. A process that never
starts a phase (a finished lane, ``doit list``) exits with the collector still paused:
it is short, and exit skips the teardown anyway.
"""

from __future__ import annotations

import gc

__all__ = ["pause_collector", "startup_over"]

_paused = False


def pause_collector() -> None:
    """Switch the cyclic collector off until :func:`startup_over` (if it is on now)."""
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def startup_over() -> None:
    """Freeze the start-up objects and switch the collector back on, if this module
    switched it off; otherwise (and on every later call) do nothing."""
    global _paused
    if _paused:
        _paused = False
        gc.freeze()
        gc.enable()
