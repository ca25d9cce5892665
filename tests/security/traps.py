"""A trap program for planted hooks, drivers and helpers: it records who ran it.

Each run appends one line to its log: the command lines of its ancestors (their NULs,
newlines and carriage returns turned into spaces: a CI runner's ``bash -c`` script spans
many lines, and one run must stay one line; the line is written with ``printf '%s'``, as
``echo`` in ``dash`` would turn a ``\\n`` inside an argument into a line break), so a test can
tell a run inside the agent's own process tree (allowed: the agent's git is the agent's
business) from a run inside maestro's (never allowed). Linux only (``/proc``).
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

AGENT_MARK = "maestro.agents.scripted"

TRAP = """#!/bin/sh
p=$$
chain=""
while [ "$p" -gt 1 ] 2>/dev/null; do
  chain="$chain | $(tr '\\0\\n\\r' '   ' < /proc/$p/cmdline 2>/dev/null)"
  p=$(awk '/^PPid:/{{print $2}}' /proc/$p/status 2>/dev/null)
  [ -n "$p" ] || break
done
printf '%s\\n' "$chain" >> {log}
if [ "$1" = filter ]; then exec cat; fi
exit 0
"""


def needs_proc() -> None:
    if not Path("/proc/self/cmdline").exists():
        pytest.skip("the trap reads its ancestry from /proc (Linux only)")


def make_trap(folder: Path) -> tuple[Path, Path]:
    """Write the trap program; return ``(program, log)``."""
    needs_proc()
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "trap.log"
    program = folder / "trap.sh"
    program.write_text(TRAP.format(log=log))
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    return program, log


def runs(log: Path) -> list[str]:
    """The recorded runs, a line each.

    An ancestor's command line may hold any bytes (CI runners pass binary arguments), so
    undecodable bytes are replaced rather than failing the read, and only ``\\n`` ends a
    run: ``str.splitlines`` would also split at form feeds and Unicode separators.
    """
    if not log.exists():
        return []
    return [line for line in log.read_text(errors="replace").split("\n") if line]


def runs_outside_agent(log: Path) -> list[str]:
    """Every recorded run whose ancestry is not the agent's: maestro's own processes."""
    return [line for line in runs(log) if AGENT_MARK not in line]
