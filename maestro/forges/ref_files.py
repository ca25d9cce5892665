"""The commit a branch names in a git dir, read from its ref files without starting git.

Only for a yes/no question whose "no" is always safe: the local forge asks whether the
repository's remote-tracking ref already names ``origin``'s branch head, to skip a fetch
that would change nothing (:meth:`maestro.forges.local.LocalForge.fetch`). Whenever this
reader cannot tell, it answers ``None`` and the caller fetches as before.

git's files backend keeps a ref either as a loose file ``<git dir>/<ref>`` holding the
hash, or as a line ``<hash> <ref>`` of ``<git dir>/packed-refs``; a loose file wins (git
writes the packed line before it removes the loose file, so one of the two always holds the
current value). Anything else (a symbolic ref, a symbolic link, a lock in the way, a
reftable repository, a damaged file) is ``None``. Nothing read here is trusted on its own:
the caller only acts on two reads that agree, and the ref git would write is the one it
compares.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from maestro.ids import FULL_HASH

#: :data:`~maestro.ids.FULL_HASH` over the bytes read from a ref file.
_HASH = re.compile(FULL_HASH.pattern.encode())


def _loose(git_dir: Path, ref: str) -> tuple[bool, str | None]:
    """``(found, hash)``: whether a loose file decides the answer, and its hash."""
    try:
        content = (git_dir / ref).read_bytes()
    except FileNotFoundError:
        return False, None
    except OSError:  # a folder, a file where a folder should be (reftable), unreadable
        return True, None
    value = content.strip()
    return True, value.decode() if _HASH.fullmatch(value) else None


def _packed(git_dir: Path, ref: str) -> str | None:
    try:
        content = (git_dir / "packed-refs").read_bytes()
    except OSError:
        return None
    wanted = ref.encode()
    for line in content.splitlines():
        sha, _, name = line.partition(b" ")
        if name == wanted and _HASH.fullmatch(sha):
            return sha.decode()
    return None


def read_branch(git_dir: Path, ref: str) -> str | None:
    """The hash ``ref`` (``refs/...``) names in ``git_dir``, or None when it is absent or
    this reader cannot tell."""
    if not ref.startswith("refs/") or ".." in ref.split("/"):
        return None
    # git writes ref files, never symbolic links: a link (the ref, or a folder on its way)
    # could make two refs one file, e.g. a tracking ref that follows origin's own branch.
    if os.path.realpath(git_dir / ref) != os.path.join(os.path.realpath(git_dir), ref):
        return None
    found, value = _loose(git_dir, ref)
    if found:
        return value
    return _packed(git_dir, ref)
