"""Program lookup that never lands in a folder the agent writes.

A program started by name is looked up along ``PATH``, and an empty or relative entry
(``PATH=:/usr/bin``, ``./node_modules/.bin:$PATH``, ``bin``) names a folder *relative to the
child's working directory*: Python's ``subprocess`` changes into ``cwd`` before it tries
each entry, and maestro runs git, hooks, validation and the agent in a lane's worktree. An
agent that commits an executable ``git`` (or ``node_modules/.bin/git``) there would then
be run by maestro's own next git call, with maestro's environment, a push's token header
included; likewise an operator's hook or validation command in place of the program it
names. So every environment maestro builds keeps only the absolute entries of ``PATH``
(:func:`absolute_path`). maestro's own programs (git, bwrap, and what its git starts) are
moreover never taken from a folder an agent can write even under the sandbox, the home
folder and the temporary folders (:func:`maestros_path`, :func:`find_program`).

Not covered: without the sandbox the agent can write every file its user can, the
programs on ``PATH`` included when that user owns them (docs/spec/security.md).
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile


def absolute_path(value: str | None) -> str:
    """``value`` (a ``PATH``) with every empty or relative entry removed, order kept; the
    system default (:data:`os.defpath`, cut the same way) when ``value`` is None."""
    entries = (os.defpath if value is None else value).split(os.pathsep)
    return os.pathsep.join(entry for entry in entries if os.path.isabs(entry))


def agent_writable_roots() -> tuple[str, ...]:
    """Folders an agent can write even under the sandbox, each as named and by real path:
    the home folder (the sandbox keeps it writable for the agent's sessions and caches),
    the temporary folders and the shared-memory and runtime folders. A root that is ``/``
    itself (a service user whose home is ``/``) is left out: it would name everything."""
    return _roots(os.environ.get("HOME") or os.path.expanduser("~"), tempfile.gettempdir(),
                  os.environ.get("XDG_RUNTIME_DIR", ""))


@functools.lru_cache(maxsize=8)
def _roots(home: str, tmp: str, runtime: str) -> tuple[str, ...]:
    named = [root for root in (home, tmp, "/tmp", "/var/tmp", "/dev/shm", runtime) if root]
    found = {os.path.normpath(root) for root in named} | {os.path.realpath(r) for r in named}
    return tuple(sorted(root for root in found if root != os.sep))


def _inside(path: str, roots: tuple[str, ...]) -> bool:
    return any(path == root or path.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


def maestros_path(value: str | None) -> str:
    """The ``PATH`` maestro's own programs are found along (its git, bwrap, and what its
    git starts, such as ``ssh``): :func:`absolute_path`, less every entry that lies, as
    named or by real path, in a folder an agent can write (:func:`agent_writable_roots`):
    the operator's ``~/.local/bin``, ``~/bin``, ``~/.cargo/bin`` or pyenv shims are on
    ``PATH`` ahead of ``/usr/bin`` on many machines, and a ``git`` an agent put there would
    run as maestro's, outside the sandbox, with a push's token in its environment. An entry
    that links out of those folders (``~/.nix-profile/bin``) is left out too: the agent
    can point the link elsewhere. Remembered per ``PATH`` and roots: it is asked on every
    git call."""
    return _kept(absolute_path(value), agent_writable_roots())


@functools.lru_cache(maxsize=32)
def _kept(path: str, roots: tuple[str, ...]) -> str:
    return os.pathsep.join(
        entry for entry in path.split(os.pathsep)
        if entry and not _inside(os.path.normpath(entry), roots)
        and not _inside(os.path.realpath(entry), roots))


@functools.lru_cache(maxsize=32)
def _find(name: str, path: str) -> str | None:
    return shutil.which(name, path=path)


def find_program(name: str, path: str | None = None) -> str | None:
    """The absolute path of program ``name`` along :func:`maestros_path` of ``path``
    (default: maestro's own ``PATH``), or None. Remembered per ``(name, path)`` for the
    process: the folders are the operator's, and git's lookup is on every git call."""
    if path is None:
        path = os.environ.get("PATH")
    return _find(name, maestros_path(path))
