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
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["one_scan"]


def _shared(scan: Callable[[], importlib.metadata.EntryPoints]
            ) -> Callable[..., importlib.metadata.EntryPoints]:
    """``entry_points(group=...)`` answered from one ``scan()``, made at the first call."""
    found: list[importlib.metadata.EntryPoints] = []

    def entry_points(**selection: Any) -> importlib.metadata.EntryPoints:
        if not found:
            found.append(scan())
        return found[0].select(**selection) if selection else found[0]

    return entry_points


@contextmanager
def one_scan(scan: Callable[[], importlib.metadata.EntryPoints] = importlib.metadata.entry_points
             ) -> Iterator[None]:
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
