"""Running the workflow's validation commands in a lane worktree.

The commands run code the agent wrote, so they get the allow-listed environment of
:mod:`maestro.containment.childenv`, never maestro's own."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from maestro.containment.shell import run_shell

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
        code, timed_out, output = run_shell(command, cwd, timeout_s, env, prefix)
        if timed_out:
            output = "\n".join(part for part in (output.rstrip("\n"),
                                                  f"timed out after {timeout_s:g}s") if part)
        records.append({"command": command, "exit_code": code,
                        "output_tail": output[-OUTPUT_TAIL:],
                        "duration_s": round(time.monotonic() - started, 3)})
        if code != 0:
            return False, records
    return True, records
