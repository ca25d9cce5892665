"""Keep a maestro process's memory and environment away from other processes of its user.

maestro is started with the tracker and forge tokens in its environment, and the agent
usually runs as the same OS user. Linux lets any process of that user read another's
``/proc/<pid>/environ`` (and ``mem``, and attach with ptrace) while the target is
*dumpable*; ``prctl(PR_SET_DUMPABLE, 0)`` (prctl(2), proc(5) "ptrace access mode
checking") makes those files root-owned and the access checks fail for any process that
lacks ``CAP_SYS_PTRACE``. The flag is inherited by ``fork`` (warm lane workers) and reset
by ``execve`` of an ordinary program, so the agent, git and validation commands maestro
starts are unaffected: only maestro's own interpreters hide themselves.

It is set when the ``maestro`` package is imported, the earliest point every entry point
shares (``maestro`` console script, ``python -m maestro``, ``doit lane:ID`` through
``dodo.py``, the warm zygote). What remains is the interpreter's start-up before that
import (tens of milliseconds), during which a process of the same user that is polling
``/proc`` could still read the environment; docs/spec/security.md lists it.

Side effects an operator notices: no core dumps of maestro processes, and ``py-spy``,
``gdb -p``, ``strace -p`` and ``lsof -p`` need root (starting maestro under ``strace -f``
still works).
"""

from __future__ import annotations

import sys

from maestro.containment.prctl import PR_SET_DUMPABLE, prctl


def hide_this_process() -> bool:
    """Make this process non-dumpable; whether it now is. Never raises: a platform without
    ``prctl`` (macOS, or a seccomp profile that forbids it) keeps today's behaviour."""
    if not sys.platform.startswith("linux"):
        return False
    return prctl(PR_SET_DUMPABLE, 0) == 0
