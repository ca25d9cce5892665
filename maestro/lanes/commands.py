"""Running the workflow's validation commands in a lane worktree.

The commands run code the agent wrote, so they get the allow-listed environment of
:mod:`maestro.containment.childenv`, never maestro's own."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

OUTPUT_TAIL = 4000


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
        try:
            argv: str | list[str] = [*prefix, "/bin/sh", "-c", command] if prefix else command
            proc = subprocess.run(argv, shell=not prefix, cwd=cwd, capture_output=True,
                                  text=True, errors="replace", timeout=timeout_s, env=env,
                                  check=False)
            code, output = proc.returncode, proc.stdout + proc.stderr
        except subprocess.TimeoutExpired:
            code, output = 124, f"timed out after {timeout_s:g}s"
        records.append({"command": command, "exit_code": code,
                        "output_tail": output[-OUTPUT_TAIL:],
                        "duration_s": round(time.monotonic() - started, 3)})
        if code != 0:
            return False, records
    return True, records
