"""What every transport's probe shares: the failure, the command, the empty environment.

A probe must say which assumption failed (:class:`ProbeFailed` carries the check's name),
must find the binary the operator named, and must never let the operator's configuration
or credentials take part (:func:`isolated_env`).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from maestro.agents.appserver import AgentError


class ProbeFailed(Exception):
    """One check failed; the message is the line the operator sees."""

    def __init__(self, check: str, detail: str) -> None:
        super().__init__(f"{check}: {detail}")
        self.check = check


def resolve_command(command: str, what: str, hint: str) -> list[str]:
    """The agent command as an argv whose first element is an existing executable.

    ``what`` names the agent in the failed check (``"codex"``, ``"claude"``); ``hint`` says
    how to install it or which flag names it. Raises :class:`ProbeFailed`."""
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise ProbeFailed(f"{what} command", f"cannot parse {command!r}: {exc}") from None
    if not argv:
        raise ProbeFailed(f"{what} command", "empty command")
    found = shutil.which(argv[0])
    if found is None:
        raise ProbeFailed(f"{what} on PATH", f"{argv[0]!r} not found on PATH ({hint})")
    return [found, *argv[1:]]


def agent_version(argv: list[str]) -> str:
    """``<agent> --version`` for the report; informational, never a failed check."""
    try:
        proc = subprocess.run([*argv, "--version"], capture_output=True, text=True,
                              errors="replace",
                              timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "version unknown"
    return proc.stdout.strip().splitlines()[0] if proc.stdout.strip() else "version unknown"


def isolated_env(home: Path) -> dict[str, str]:
    """Our environment with an empty HOME and CODEX_HOME and no secrets at all."""
    codex_home = home / ".codex"
    codex_home.mkdir(parents=True, exist_ok=True)
    keep = ("PATH", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update({"HOME": str(home), "CODEX_HOME": str(codex_home)})
    return env


def agent_failed(step: str, exc: AgentError, stderr: Sequence[str]) -> ProbeFailed:
    """The failure of ``step``, with the last lines the agent wrote to stderr (if any)."""
    tail = " | ".join(line for line in stderr[-3:] if line)
    return ProbeFailed(step, f"{exc.error_class}: {exc}"
                       + (f" (stderr: {tail[-300:]})" if tail else ""))
