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
from pathlib import Path

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


def _watched_paths() -> list[Path]:
    package = Path(maestro.__file__).resolve().parent
    paths: list[Path] = []  # files only: a new __pycache__ must not retire the zygote
    for folder, dirs, files in os.walk(package):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        paths += [Path(folder) / f for f in sorted(files) if f.endswith((".py", ".yaml"))]
    return paths


def _stamps(paths: Iterable[Path]) -> Iterable[tuple[str, Stamp]]:
    for path in dict.fromkeys(paths):
        try:
            st = path.stat()
        except OSError:
            yield str(path), StatIdentity(-1, -1, -1, -1, -1)
            continue
        yield str(path), stat_identity(st)
