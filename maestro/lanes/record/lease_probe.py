"""Is a lane's lock file held by a live process? One ``open`` and one ``flock``, no more.

A lane process holds ``lane.lock`` with :mod:`filelock`, which on Unix is a whole-file
``flock(LOCK_EX)`` on a file that stays in place on release. Readers that only want to
know whether someone holds it (status, the poll tick, the operator API: every lane, every
request) need not build a :class:`filelock.FileLock` for that: its constructor and its
acquire path cost milliseconds, and its acquire *creates* the file when it is missing (a
write in the lane folder that a reader has no business making).

:func:`flock_held` answers ``True`` (held by another open file description: another
process, or another lock object of this one), ``False`` (free, or no lock file: nobody can
hold a lock on a file that does not exist), or ``None`` when this platform or filesystem has
no ``flock`` (filelock then falls back to its soft lock, and so must the caller).
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["flock_held"]

_OPEN_FLAGS = os.O_RDWR | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(
    os, "O_CLOEXEC", 0)


def flock_held(path: Path) -> bool | None:
    """Whether ``path`` is ``flock``-ed by someone else right now (see the module doc).

    Like filelock's own probe, a free lock is taken for an instant and given back; the
    file is never created, truncated or written."""
    if fcntl is None:  # pragma: no cover - Windows
        return None
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except FileNotFoundError:
        return False
    except OSError:
        return None  # unreadable or not a plain file: let filelock decide, as before
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                return True
            return None  # ENOSYS, EOPNOTSUPP, ...: no flock here
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)
