"""Replace a file people edit only if nobody changed it since it was read.

Why: the files tracker edits an issue file by read-modify-write. Its own writers exclude
each other with a lock, but a person (an editor, ``echo >> issues/X.md``) does not take it:
an append that landed between maestro's read and its atomic rename was overwritten (46 of
250 appends lost while a lane posted comments). Now the file's identity and bytes as read
are compared with the file just before the rename; on a difference the write is abandoned
and the caller redoes the read-modify-write on the new content.

Identity is (inode, size, mtime_ns, ctime_ns); the bytes are compared too, so a change
within one timestamp tick (coarse-clock file systems) is seen as well.

What remains: the microseconds between that last look and the rename, and a writer that
opened the file before the rename and writes after it (its bytes go to the replaced
inode). Both are far narrower than the whole read-modify-write they replace.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from maestro.fsutil import replace_via_temp

__all__ = ["Seen", "look", "replace_unless_changed"]


@dataclass(frozen=True)
class Seen:
    """A file as read: its identity and its bytes."""

    inode: int
    size: int
    mtime_ns: int
    ctime_ns: int
    data: bytes


def _identity(path: Path) -> tuple[int, int, int, int]:
    st = os.stat(path)
    return st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


def look(path: Path) -> Seen | None:
    """The file's identity and bytes, or None when it changed while being read (the caller
    reads again). ``FileNotFoundError`` passes."""
    before = _identity(path)
    data = path.read_bytes()
    if _identity(path) != before:
        return None
    return Seen(*before, data)


def replace_unless_changed(path: Path, seen: Seen, data: bytes) -> bool:
    """Write ``data`` to a temporary sibling, fsync it, then rename it over ``path`` if
    ``path`` is still exactly ``seen``; False (nothing replaced) when it is not. The last
    look is as close to the rename as it can be (:func:`maestro.fsutil.replace_via_temp`);
    no folder is created (a folder removed meanwhile raises ``FileNotFoundError``)."""
    return replace_via_temp(path, data, still_wanted=lambda: look(path) == seen)
