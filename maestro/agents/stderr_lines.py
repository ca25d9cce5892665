"""Reading an agent child's stderr, the same way for every transport.

Apart from :mod:`.child` (which needs the app-server's errors) so that the app-server
client, too, reads its child's stderr with it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

#: Characters kept of one stderr line.
STDERR_LINE_CHARS = 4000


async def pump_stderr(stream: asyncio.StreamReader, on_line: Callable[[str], None]) -> None:
    """Hand each stderr line (decoded with replacement, cut) to ``on_line`` until EOF; an
    over-long line (the stream's limit) is skipped, never fatal. What ``on_line`` raises
    ends the pump and reaches the caller."""
    while True:
        try:
            raw = await stream.readline()
        except ValueError:
            continue
        if not raw:
            return
        on_line(raw.decode(errors="replace").rstrip()[:STDERR_LINE_CHARS])
