"""Starting an agent child and reading its stderr, the same way for every transport.

Every agent (the app-server, Claude Code, an ACP agent) starts through :func:`spawn`, so
none can forget what keeps it contained: it runs under the reaper's supervisor (nothing it
starts outlives it), in its own session (killing the group ends its shell commands), and
dies with the lane process. Apart from :mod:`.child` (which needs the app-server's errors)
so that the app-server client uses it too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from maestro.containment import reaper

#: Lines of several megabytes happen (diffs, file contents); 16 MiB leaves room.
LINE_LIMIT = 16 * 1024 * 1024
#: Characters kept of one stderr line.
STDERR_LINE_CHARS = 4000


async def spawn(argv: list[str], cwd: Path, env: dict[str, str]) -> asyncio.subprocess.Process:
    """Start ``argv`` in ``cwd`` with exactly ``env``, with pipes on stdin, stdout and stderr
    (lines up to :data:`LINE_LIMIT`), supervised and noted as such (see
    :mod:`maestro.containment.reaper`). Raises ``OSError`` or ``ValueError`` when it cannot
    start; the caller names the failure."""
    process = await asyncio.create_subprocess_exec(
        *reaper.wrap(argv, env), cwd=str(cwd), env=env,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, limit=LINE_LIMIT, start_new_session=True)
    reaper.supervised(process.pid)
    return process


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
