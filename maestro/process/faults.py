"""Fault injection points for the crash-resume tests and the fault matrix.

A phase calls :func:`point` around each side effect. When ``MAESTRO_FAULT_KILL`` names
that point, the process kills itself with SIGKILL — exactly what an OOM killer, a reboot or
a cancelled CI job does — so tests can prove that running the lane again neither loses nor
repeats work. ``MAESTRO_FAULT_ONCE`` names a flag file: the fault then fires only once.
Without the variables (production) a point costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

KILL_ENV = "MAESTRO_FAULT_KILL"
ONCE_ENV = "MAESTRO_FAULT_ONCE"


def point(name: str) -> None:
    wanted = os.environ.get(KILL_ENV)
    if wanted is None or wanted != name:
        return
    once = os.environ.get(ONCE_ENV)
    if once:
        flag = Path(once)
        if flag.exists():
            return
        flag.write_text(name)
    os.kill(os.getpid(), signal.SIGKILL)
