"""doit's plugin look-up, one scan per lane run instead of three.

``DoitMain.run`` looks for plugins of three kinds (``doit.COMMAND``, ``doit.BACKEND``,
``doit.REPORTER``) through :func:`importlib.metadata.entry_points`, and each call reads
the metadata of every installed distribution again: 10-20 ms a call on the 2-CPU
development machine (load 4-5), paid by every lane process between its start and its
claim. :func:`one_scan` lets the three look-ups of one run share one scan, made at the
first of them; doit sees the same entry points it would have found itself (the scan is
the same call, made a few milliseconds earlier), and nothing outlives the run: the next
run scans again, so a plugin installed meanwhile is found as before.

doit reaches ``entry_points`` only through ``doit.plugin.entry_points_impl`` (its own
seam for that purpose), which is swapped for the run and put back after it.

A lane forked by the warm-worker zygote can skip even that scan: the zygote scans once
before it forks (:func:`scan_ahead`) and a forked lane uses that scan while every folder
on ``sys.path`` keeps its stat identity (installing or removing a distribution adds or
renames a ``*.dist-info`` folder there, which changes the folder's mtime and ctime); any
difference, and the lane scans for itself. The zygote is also retired whenever a folder
its preloaded dependencies live in changes (:mod:`maestro.orchestration.warm.freshness`).
"""

from __future__ import annotations

import importlib.metadata
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol

from maestro.fsutil import StatIdentity, stat_identity

__all__ = ["current_scan", "one_scan", "scan_ahead"]

PathStamp = tuple[tuple[str, StatIdentity | None], ...]


class Scan(Protocol):
    """What ``importlib.metadata.entry_points()`` returns (``EntryPoints``, or on Python
    3.11 ``SelectableGroups``): both select by group."""

    def select(self, *, group: str) -> importlib.metadata.EntryPoints: ...


#: The scan a zygote made before forking, with the ``sys.path`` folders it was made over.
_AHEAD: list[tuple[PathStamp, Scan]] = []


def path_stamp() -> PathStamp:
    """Each ``sys.path`` entry with its stat identity (None when it cannot be read)."""
    found: list[tuple[str, StatIdentity | None]] = []
    for entry in sys.path:
        try:
            found.append((entry, stat_identity(os.stat(entry or "."))))
        except OSError:
            found.append((entry, None))
    return tuple(found)


def scan_ahead() -> None:
    """Scan now, for the lanes this process will fork (the zygote, before serving)."""
    _AHEAD[:] = [(path_stamp(), importlib.metadata.entry_points())]


def current_scan() -> Scan:
    """The scan made ahead while ``sys.path``'s folders are unchanged, else a new one."""
    if _AHEAD and _AHEAD[0][0] == path_stamp():
        return _AHEAD[0][1]
    return importlib.metadata.entry_points()


def _shared(scan: Callable[[], Scan]) -> Callable[..., importlib.metadata.EntryPoints]:
    """``entry_points(group=...)`` (the one way doit calls it) answered from one
    ``scan()``, made at the first call."""
    found: list[Scan] = []

    def entry_points(*, group: str) -> importlib.metadata.EntryPoints:
        if not found:
            found.append(scan())
        return found[0].select(group=group)

    return entry_points


@contextmanager
def one_scan(scan: Callable[[], Scan] = current_scan) -> Iterator[None]:
    """Within the block, doit's plugin look-ups share one ``scan()`` of the installed
    distributions."""
    import doit.plugin

    original = doit.plugin.entry_points_impl
    shared = _shared(scan)
    doit.plugin.entry_points_impl = lambda: shared
    try:
        yield
    finally:
        doit.plugin.entry_points_impl = original
