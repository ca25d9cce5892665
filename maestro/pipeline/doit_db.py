"""doit's dependency database is a cache of the lanes' files: an unreadable one is set aside.

Every lane resumes from its own files in the lane folder (a fresh CI runner has no
database at all), so ``<state_root>/doit.sqlite3`` only saves doit from re-checking what
those files already say. A damaged one (a kill during a write on a filesystem without
ordered writes, a disk error, a stray write) made every lane run stop before its first
task with doit's traceback and exit 0 as if there were nothing to do: the lanes stood
still while looking idle. It is now moved aside, named in a warning, and doit starts a
new one. A database that is only busy (another lane writing) is left alone.

For the same reason a database that cannot be written (a full disk, ``ulimit -f``, a
read-only state folder) never ends a lane run with doit's traceback: one that cannot be
opened is replaced by one in memory for this run (:func:`open_dependencies`), and one that
cannot be saved when the run ends is named in one warning line (:func:`save_or_warn`). The
run's progress is in the lane files either way; the next run only re-checks them.
"""

from __future__ import annotations

import contextlib
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["open_dependencies", "save_or_warn", "set_aside_if_unreadable"]

D = TypeVar("D")
IN_MEMORY = ":memory:"


def _why(exc: BaseException) -> str:
    """The error in a few words (doit's own wrapper carries the first line of its own)."""
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, sqlite3.Error | OSError):
        exc = cause
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def open_dependencies(open_at: Callable[[str], D], dep_file: str) -> D:
    """``open_at(dep_file)`` (doit's ``Dependency``); when SQLite cannot open or create the
    file (``sqlite3.Error``, doit's ``DatabaseException`` around it, ``OSError``), a warning
    line and ``open_at(":memory:")``: this run works without the cache."""
    from doit.dependency import DatabaseException

    if dep_file == IN_MEMORY:
        return open_at(dep_file)
    try:
        return open_at(dep_file)
    except (sqlite3.Error, DatabaseException, OSError) as exc:
        print(f"maestro: warning: {dep_file} could not be opened ({_why(exc)}); this run "
              "keeps doit's records in memory and resumes from the lane files",
              file=sys.stderr)
    return open_at(IN_MEMORY)


def save_or_warn(dep_manager: Any, dep_file: str) -> None:
    """Make ``dep_manager.close()`` (doit's save at the end of a run) warn in one line
    instead of raising, so doit's runner still runs teardowns and reports the result."""
    close = dep_manager.close

    def close_or_warn() -> None:
        try:
            close()
        except (sqlite3.Error, OSError) as exc:
            print(f"maestro: warning: {dep_file} could not be saved ({_why(exc)}); this "
                  "run's progress is in the lane files, which the next run resumes from",
                  file=sys.stderr)

    dep_manager.close = close_or_warn


def set_aside_if_unreadable(path: Path, busy_timeout_s: float = 5.0) -> Path | None:
    """Move ``path`` to ``<path>.unreadable-<unix time>`` when SQLite cannot read it as a
    database; returns where it went (and says so on stderr), or None when it is readable,
    absent, or still busy after ``busy_timeout_s`` seconds (another lane writing)."""
    if not path.is_file():
        return None
    try:
        uri = f"{path.absolute().as_uri()}?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=busy_timeout_s)) as db:
            db.execute("PRAGMA schema_version").fetchone()
            return None
    except sqlite3.OperationalError:
        return None  # locked or busy: a database in use, not a damaged one
    except sqlite3.DatabaseError as exc:
        reason = str(exc)
    aside = path.with_name(f"{path.name}.unreadable-{int(time.time())}")
    try:
        path.rename(aside)
    except FileNotFoundError:
        return None  # another lane process set it aside first
    print(f"maestro: warning: {path} could not be read ({reason}); moved to {aside.name}; "
          "lanes resume from their own files", file=sys.stderr)
    return aside
