"""Running the workflow's validation commands in a lane worktree.

The commands run code the agent wrote, so they get the allow-listed environment of
:mod:`maestro.containment.childenv`, never maestro's own."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from maestro.containment import reaper

OUTPUT_TAIL = 4000


def run_one(command: str, cwd: Path, timeout_s: float, env: dict[str, str],
            prefix: Sequence[str] = ()) -> tuple[int, str]:
    """``(exit code, output)`` of one command, 124 for a timeout. It runs in its own session
    under :mod:`maestro.containment.reaper`: on a timeout, or when it ends, nothing it
    started is left running (a test suite's ``setsid`` server included)."""
    argv = reaper.wrap([*prefix, "/bin/sh", "-c", command], env)
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            code = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            reaper.kill_tree(proc.pid)  # still unreaped: its pid is still the command's
            proc.wait()
            return 124, f"timed out after {timeout_s:g}s"
        except BaseException:
            reaper.kill_tree(proc.pid)
            proc.wait()
            raise
        size = out.seek(0, os.SEEK_END)
        out.seek(max(0, size - OUTPUT_TAIL * 4))
        return code, out.read().decode(errors="replace")


def run_commands(commands: list[str], cwd: Path, timeout_s: float, env: dict[str, str],
                 prefix: Sequence[str] = ()) -> tuple[bool, list[dict[str, Any]]]:
    """Run each command with a shell in ``env`` (behind ``prefix``, e.g. the bubblewrap
    sandbox of :mod:`maestro.containment.sandbox`); stop at the first failure.

    Returns ``(passed, records)``; a record is ``{command, exit_code, output_tail,
    duration_s}`` (exit code 124 for a timeout). Output is whatever the code under test
    printed, so bytes that are not UTF-8 are replaced, never raised."""
    records: list[dict[str, Any]] = []
    for command in commands:
        started = time.monotonic()
        code, output = run_one(command, cwd, timeout_s, env, prefix)
        records.append({"command": command, "exit_code": code,
                        "output_tail": output[-OUTPUT_TAIL:],
                        "duration_s": round(time.monotonic() - started, 3)})
        if code != 0:
            return False, records
    return True, records
