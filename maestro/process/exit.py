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
"""

from __future__ import annotations

import gc


def skip_heap_teardown() -> None:
    """Call right before the process exits (see the module docstring)."""
    gc.freeze()
