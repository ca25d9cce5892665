"""When a zygote is too old to fork from: its code or its environment changed.

A zygote imported maestro (and its dependencies) once; a lane forked from it runs that
code. So the daemon takes a fingerprint of the code BEFORE it starts the zygote (a change
after that shows as a difference, never as a stale match) and compares it before every
fork: any maestro source file added, removed or changed (path, size, mtime, ctime, inode)
retires the zygote. Dependencies are the zygote's own check, exact for every module it
loaded (:mod:`maestro.orchestration.warm.loaded_code`). The environment is compared as a
whole: a warm lane must get exactly what a cold one would.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

import maestro
from maestro.fsutil import StatIdentity, stat_identity

Stamp = StatIdentity


@dataclass(frozen=True)
class Fingerprint:
    code: tuple[tuple[str, Stamp], ...]
    env: tuple[str, ...]  # C environ entries, in order


def take(environ: Iterable[str]) -> Fingerprint:
    """The code and environment a zygote started now would have. Cost: one ``stat`` per
    maestro source file (about 200; 5-40 ms on a loaded machine)."""
    return Fingerprint(code_stamps(), tuple(environ))


def code_stamps() -> tuple[tuple[str, Stamp], ...]:
    return tuple(_stamps(_watched_paths()))


def stale_reason(started: Fingerprint, now: Fingerprint) -> str | None:
    """Why a zygote started at ``started`` must not fork any more, or None."""
    if started.code != now.code:
        return CODE_CHANGED
    if started.env != now.env:
        return "the daemon's environment changed"
    return None


CODE_CHANGED = "maestro or a dependency changed on disk"


def _watched_paths() -> list[str]:
    """maestro's ``.py`` and ``.yaml`` files, folder by folder: a folder's files by name,
    then its sub-folders by name (``__pycache__`` left out: a new one must not retire the
    zygote). Plain strings and ``scandir``: this runs before a warm fork, and ``os.walk``
    with a ``Path`` per file took 5-15 ms of the dispatch for about 200 files."""
    paths: list[str] = []

    def walk(folder: str) -> None:
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError:
            return
        paths.extend(e.path for e in entries
                     if e.name.endswith((".py", ".yaml")) and not _is_dir(e))
        for entry in entries:  # into real folders only, as ``os.walk`` (no link loops)
            if entry.name != "__pycache__" and _is_dir(entry) and not entry.is_symlink():
                walk(entry.path)

    walk(os.path.realpath(os.path.dirname(maestro.__file__)))
    return paths


def _is_dir(entry: os.DirEntry[str]) -> bool:
    """As ``os.walk`` sorts an entry: a folder, or a symlink to one (listed as a folder,
    never entered)."""
    try:
        return entry.is_dir()
    except OSError:
        return False


def _stamps(paths: Iterable[str]) -> Iterable[tuple[str, Stamp]]:
    for path in paths:  # the walk lists each path once
        try:
            st = os.stat(path)
        except OSError:
            yield path, StatIdentity(-1, -1, -1, -1, -1)
            continue
        yield path, stat_identity(st)
