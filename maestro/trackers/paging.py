"""Cursor bookkeeping for one paginated GraphQL read (Linear, GitHub).

Why: a service (or a proxy, or a bug) that answers ``hasNextPage: true`` forever — the same
cursor again, or new cursors without end — held a tick in a request loop for ever (2 188
requests in 10 s, no end). Each paginated read walks its pages through a :class:`PageWalk`,
which stops with a :class:`~maestro.errors.TrackerError` naming the operation when

* a cursor comes back that this read already followed (the service is looping), or
* more than :data:`MAX_PAGES` pages were read (50 000 issues at the default page size of
  50; far beyond a board maestro polls every tick, so not configurable).

The error fails this tracker read (the tick logs it and tries again next tick); it never
stops the daemon.
"""

from __future__ import annotations

from maestro.errors import TrackerError

__all__ = ["MAX_PAGES", "PageWalk"]

#: Pages one paginated read may take before it is refused as endless.
MAX_PAGES = 1000


class PageWalk:
    """The cursors of one read: ``after = walk.next(has_next, end_cursor)`` after each page,
    ``None`` when the read is complete."""

    def __init__(self, service: str, operation: str, max_pages: int | None = None) -> None:
        self.service = service
        self.operation = operation
        self.max_pages = MAX_PAGES if max_pages is None else max_pages
        self.pages = 0
        self._seen: set[str] = set()

    def next(self, has_next: bool, end_cursor: str | None) -> str | None:
        """The cursor to ask for next, or None when the last page was read.

        Raises :class:`TrackerError` for a next page without a cursor, a cursor already
        followed, or a read longer than ``max_pages`` pages."""
        self.pages += 1
        if not has_next:
            return None
        where = f"{self.service}: {self.operation}"
        if not end_cursor:
            raise TrackerError(f"{where}: hasNextPage without an endCursor")
        if end_cursor in self._seen:
            raise TrackerError(f"{where}: the service returned cursor {end_cursor[:40]!r} "
                               f"again after {self.pages} page(s); pagination never ends, "
                               "read stopped")
        if self.pages >= self.max_pages:
            raise TrackerError(f"{where}: more than {self.max_pages} pages; pagination "
                               "looks endless, read stopped")
        self._seen.add(end_cursor)
        return end_cursor
