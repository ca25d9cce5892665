"""Is the code a zygote loaded still the code a cold interpreter would load now?

A lane forked from a zygote runs the modules the zygote imported; a cold lane started at
the same moment would import whatever is on disk then. The daemon's fingerprint
(:mod:`maestro.orchestration.warm.freshness`) watches maestro's source tree and a few
dependency folders, at most once a second; this is the zygote's own, exact check, run
before every fork: every file of every module it has loaded (``sys.modules``: maestro,
its dependencies, the standard library) and the site-packages folders (a new ``.pth`` file
runs in every cold interpreter), compared with their stat identity when the imports ended. A file
changed *during* the imports is caught by its ctime: the kernel sets it on every write,
rename or chmod and it cannot be set back by a same-user process, so any ctime at or after
the moment the daemon started the zygote (less :data:`CLOCK_SLACK_NS`, for the coarse clock
file times are taken from) means the zygote may hold older bytes than the disk.

Cost: one ``stat`` per loaded module file, about 1 000 for a lane's imports (2-5 ms),
paid by the zygote per fork.
"""

from __future__ import annotations

import os
import site
import sys
from dataclasses import dataclass

from maestro.fsutil import StatIdentity, stat_identity

#: File times come from the kernel's coarse clock, up to a tick behind ``time.time_ns``.
CLOCK_SLACK_NS = 50_000_000

__all__ = ["CLOCK_SLACK_NS", "LoadedCode", "changed", "take"]


@dataclass(frozen=True)
class LoadedCode:
    """``stamps``: path → stat identity when taken; ``since_ns``: when the zygote was
    started (``time.time_ns()`` of the daemon, before the zygote's first import)."""

    since_ns: int
    stamps: dict[str, StatIdentity]


def take(since_ns: int) -> LoadedCode:
    """The files of every module loaded now and the site-packages folders, stamped."""
    paths = {os.path.abspath(path) for path in [*_module_files(), *_site_folders()]}
    stamps: dict[str, StatIdentity] = {}
    for path in sorted(paths):
        try:
            stamps[path] = stat_identity(os.stat(path))
        except OSError:
            continue  # gone already: a module loaded from a file removed since
    return LoadedCode(since_ns, stamps)


def changed(loaded: LoadedCode) -> str | None:
    """Why a fork now could run other code than a cold start, or None."""
    for path, stamp in loaded.stamps.items():
        try:
            now = stat_identity(os.stat(path))
        except OSError:
            return f"{path} is gone since the zygote loaded it"
        if now != stamp or now.ctime_ns >= loaded.since_ns - CLOCK_SLACK_NS:
            return f"{path} changed on disk since the zygote started"
    return None


def _site_folders() -> list[str]:
    """Where ``site`` reads ``.pth`` files (not every ``sys.path`` entry: a source checkout
    on the path changes with every build, and a file there runs only when imported)."""
    folders = [*site.getsitepackages(), site.getusersitepackages()]
    return [folder for folder in folders if os.path.isdir(folder)]


def _module_files() -> list[str]:
    files = []
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if isinstance(path, str) and os.path.isabs(path):
            files.append(path)
    return files
