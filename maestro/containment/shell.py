"""One shell command that runs code the agent wrote: supervised, bounded, nothing left over.

Validation commands (in the lane and as the local forge's checks) and workspace hooks run
code from the agent's worktree. Each runs in its own session under
:mod:`maestro.containment.reaper`, so on a timeout, an interruption or a normal end nothing
it started is left running (a test suite's ``setsid`` server included), and its output goes
to a temporary file, so a command that prints gigabytes costs disk for its timeout, never
memory.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from maestro.containment import reaper

#: Exit code reported for a command that ran out of time (as coreutils' ``timeout``).
TIMEOUT_EXIT = 124

#: Characters of output kept (the end of it).
OUTPUT_CHARS = 4000


class ShellRun(NamedTuple):
    """How one command ended: ``exit_code`` is :data:`TIMEOUT_EXIT` when ``timed_out``;
    ``output`` is the end of stdout and stderr, interleaved."""

    exit_code: int
    timed_out: bool
    output: str


def run_shell(command: str, cwd: Path, timeout_s: float, env: dict[str, str],
              prefix: Sequence[str] = (), keep: int = OUTPUT_CHARS) -> ShellRun:
    """Run ``/bin/sh -c command`` behind ``prefix`` (e.g. the bubblewrap sandbox) in ``cwd``
    with exactly ``env``; keep the last ``keep`` characters of its output (what it printed
    before a timeout, too). Bytes that are not UTF-8 are replaced, never raised."""
    argv = reaper.wrap([*prefix, "/bin/sh", "-c", command], env)
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
        reaper.supervised(proc.pid)
        timed_out = False
        try:
            code = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            reaper.kill_tree(proc.pid)  # still unreaped: its pid is still the command's
            proc.wait()
            code, timed_out = TIMEOUT_EXIT, True
        except BaseException:
            reaper.kill_tree(proc.pid)
            proc.wait()
            raise
        reaper.sweep_orphans()
        size = out.seek(0, os.SEEK_END)
        out.seek(max(0, size - keep * 4))
        return ShellRun(code, timed_out, out.read().decode(errors="replace")[-keep:])
