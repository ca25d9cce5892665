"""Running the workflow's validation commands in a lane worktree."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

OUTPUT_TAIL = 4000


def scrubbed_env(secret_names: set[str]) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in secret_names}


def run_commands(commands: list[str], cwd: Path, timeout_s: float,
                 secret_names: set[str]) -> tuple[bool, list[dict[str, Any]]]:
    """Run each command with a shell; stop at the first failure. Returns (passed, records)."""
    records: list[dict[str, Any]] = []
    env = scrubbed_env(secret_names)
    for command in commands:
        started = time.monotonic()
        try:
            proc = subprocess.run(command, shell=True, cwd=cwd, capture_output=True, text=True,
                                  timeout=timeout_s, env=env, check=False)
            code, output = proc.returncode, proc.stdout + proc.stderr
        except subprocess.TimeoutExpired:
            code, output = 124, f"timed out after {timeout_s:g}s"
        records.append({"command": command, "exit_code": code,
                        "output_tail": output[-OUTPUT_TAIL:],
                        "duration_s": round(time.monotonic() - started, 3)})
        if code != 0:
            return False, records
    return True, records
