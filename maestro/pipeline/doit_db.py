"""doit's dependency database is a cache of the lanes' files: an unreadable one is set aside.

Every lane resumes from its own files in the lane folder (a fresh CI runner has no
database at all), so ``<state_root>/doit.sqlite3`` only saves doit from re-checking what
those files already say. A damaged one (a kill during a write on a filesystem without
ordered writes, a disk error, a stray write) made every lane run stop before its first
task with doit's traceback and exit 0 as if there were nothing to do: the lanes stood
still while looking idle. It is now moved aside, named in a warning, and doit starts a
new one. A database that is only busy (another lane writing) is left alone.
"""

from __future__ import annotations

import contextlib
import sqlite3
import sys
import time
from pathlib import Path

__all__ = ["set_aside_if_unreadable"]


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
