"""The live view while the loop runs in a terminal, and plain log lines when it does not."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
from pathlib import Path

from rich.console import Console

from maestro.config.service import ServiceConfig
from maestro.operator.live import recent_events, render
from maestro.operator.status import snapshot

ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")


def run_in_pty(argv: list[str], cwd: Path, timeout: float = 120) -> tuple[int, str]:
    """Run ``argv`` with a pseudo-terminal as stdin/stdout/stderr; return its output."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 160, 0, 0))
    proc = subprocess.Popen(argv, cwd=cwd, stdin=follower, stdout=follower, stderr=follower,
                            env={**os.environ, "TERM": "xterm-256color"})
    os.close(follower)
    out = b""
    while True:
        ready, _, _ = select.select([leader], [], [], timeout)
        if not ready:
            break
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    os.close(leader)
    code = proc.wait(timeout=timeout)
    return code, ANSI.sub(b"", out).decode("utf-8", "replace")


def test_render_shows_every_lane_tokens_and_retries(finished_demo: ServiceConfig) -> None:
    console = Console(record=True, width=160)
    console.print(render(snapshot(finished_demo), recent_events(finished_demo)))
    text = console.export_text()
    for issue in ("DEMO-1", "DEMO-2", "DEMO-3", "DEMO-4"):
        assert issue in text
    assert "retry queue: empty" in text
    assert "totalTokens 750" in text  # 4 agent sessions and DEMO-4's repair round, 150 each
    assert "the agent asked for a human" in text


def test_recent_events_skip_debug_records(finished_demo: ServiceConfig) -> None:
    events = recent_events(finished_demo, count=50)
    assert events and all(record["level"] != "debug" for record in events)


def test_run_once_in_a_terminal_shows_the_live_view(demo_sandbox: object) -> None:
    repo: Path = demo_sandbox.repo  # type: ignore[attr-defined]
    code, out = run_in_pty([sys.executable, "-m", "maestro", "run", "--once"], repo)
    assert code == 0, out
    assert "maestro · repo ·" in out
    assert "last events" in out
    assert "DEMO-1" in out


def test_run_once_without_a_terminal_prints_plain_log_lines(demo_sandbox: object) -> None:
    repo: Path = demo_sandbox.repo  # type: ignore[attr-defined]
    proc = subprocess.run([sys.executable, "-m", "maestro", "run", "--once"], cwd=repo,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "maestro: DEMO-1 dispatch: new work" in proc.stderr
    assert "┃" not in proc.stdout + proc.stderr


def test_at_80_columns_a_lane_row_keeps_its_state_beside_its_issue(
        finished_demo: ServiceConfig) -> None:
    console = Console(record=True, width=80)
    console.print(render(snapshot(finished_demo), [], width=80))
    assert any("DEMO-2" in line and "needs_human" in line
               for line in console.export_text().splitlines())
