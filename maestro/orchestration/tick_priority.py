"""Whether the poll tick is planning now, so work sharing its interpreter can stand back.

``maestro daemon`` runs the operator server in a thread of its own process; the tick's
planning is pure Python, and so is a state request. CPython hands its interpreter lock to
a thread that keeps asking for it: a server answering a flat-out poller on its event loop
took about half of it and the tick ran twice as long. The server asks
:func:`tick_planning` and, while it is ``True``, answers from a worker thread, whose
hand-offs let the tick run first (``maestro/operator/state_route.py``;
``bench/bench_state_api.py`` measures both).

Counts nested and concurrent plans (tests run several orchestrators in one process).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_planning = 0


@contextmanager
def planning() -> Iterator[None]:
    """Mark the block as a tick's planning."""
    global _planning
    with _lock:
        _planning += 1
    try:
        yield
    finally:
        with _lock:
            _planning -= 1


def tick_planning() -> bool:
    """Whether any tick is planning now (a plain read: a moment's answer is enough)."""
    return _planning > 0
