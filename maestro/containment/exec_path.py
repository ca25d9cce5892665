"""Program lookup that never lands in a folder the agent writes.

A program started by name is looked up along ``PATH``, and an empty or relative entry
(``PATH=:/usr/bin``, ``./node_modules/.bin:$PATH``, ``bin``) names a folder *relative to the
child's working directory*: Python's ``subprocess`` changes into ``cwd`` before it tries
each entry, and maestro runs git, hooks, validation and the agent in a lane's worktree. An
agent that commits an executable ``git`` (or ``node_modules/.bin/git``) there would then
be run by maestro's own next git call, with maestro's environment, a push's token header
included; likewise an operator's hook or validation command in place of the program it
names. So every environment maestro builds keeps only the absolute entries of ``PATH``
(:func:`absolute_path`), and the programs maestro looks up itself (git, bwrap) are found
along those (:func:`find_program`).

Not covered: an absolute ``PATH`` entry the agent can write (a folder inside the worktree
written as an absolute path, or the user's own ``~/bin`` when the agent runs without the
sandbox, where it can change far more than ``PATH``); docs/security.md says so.
"""

from __future__ import annotations

import functools
import os
import shutil


def absolute_path(value: str | None) -> str:
    """``value`` (a ``PATH``) with every empty or relative entry removed, order kept; the
    system default (:data:`os.defpath`, cut the same way) when ``value`` is None."""
    entries = (os.defpath if value is None else value).split(os.pathsep)
    return os.pathsep.join(entry for entry in entries if os.path.isabs(entry))


@functools.lru_cache(maxsize=32)
def _find(name: str, path: str) -> str | None:
    return shutil.which(name, path=path)


def find_program(name: str, path: str | None = None) -> str | None:
    """The absolute path of program ``name`` along the absolute entries of ``path``
    (default: maestro's own ``PATH``), or None. Remembered per ``(name, path)`` for the
    process: the folders are the operator's, and git's lookup is on every git call."""
    if path is None:
        path = os.environ.get("PATH")
    return _find(name, absolute_path(path))
