"""The daemon under test as a process group, and every process it ever left behind.

Each daemon starts in its own session (``start_new_session=True``), so its process group id
is its pid and holds the lane processes it dispatches, their agents and their git children.
:class:`Groups` remembers every group started during a run, because a ``daemon`` kill leaves
that group's lanes running as orphans; :meth:`Groups.live` finds them through ``/proc``
(zombies do not count: they hold no lock and do no work), and :meth:`Groups.kill_all` is
the cleanup that always runs.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def _group_and_state(pid: int) -> tuple[int, str] | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # comm may hold spaces and parentheses: the fields after the last ")" are fixed
    fields = stat[stat.rindex(")") + 2:].split()
    return int(fields[2]), fields[0]


def _cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "?"
    return " ".join(part.decode(errors="replace") for part in raw.split(b"\0") if part)


class Groups:
    def __init__(self) -> None:
        self.pgids: list[int] = []

    def start_daemon(self, repo: Path, log: Path, poll_interval_s: float
                     ) -> subprocess.Popen[bytes]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MAESTRO_FAULT")}
        argv = [sys.executable, "-m", "maestro", "--config", str(repo / "maestro.toml"),
                "daemon", "--poll-interval-s", str(poll_interval_s)]
        with log.open("ab") as out:
            process = subprocess.Popen(argv, cwd=repo, stdout=out, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, env=env,
                                       start_new_session=True)
        self.pgids.append(process.pid)
        return process

    def live(self, exclude: int = 0) -> list[tuple[int, str]]:
        """(pid, command line) of every live process in our groups, except ``exclude``."""
        wanted = set(self.pgids)
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == exclude:
                continue
            info = _group_and_state(int(entry))
            if info is not None and info[0] in wanted and info[1] != "Z":
                found.append((int(entry), _cmdline(int(entry))))
        return found

    def kill_all(self) -> None:
        for pgid in self.pgids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGKILL)


def stop(process: subprocess.Popen[bytes], grace_s: float = 20.0) -> None:
    """SIGTERM (the daemon's graceful stop: its lanes get SIGTERM too), then SIGKILL the
    group if it does not end within ``grace_s``."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def kill(process: subprocess.Popen[bytes], mode: str) -> None:
    """SIGKILL the whole group (``group``) or the daemon alone (``daemon``), and reap it."""
    with contextlib.suppress(ProcessLookupError):
        if mode == "group":
            os.killpg(process.pid, signal.SIGKILL)
        else:
            os.kill(process.pid, signal.SIGKILL)
    process.wait()


def wait_gone(groups: Groups, timeout_s: float) -> list[tuple[int, str]]:
    """Wait for every process of ``groups`` to end; returns those still alive."""
    deadline = time.monotonic() + timeout_s
    while (alive := groups.live()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return alive
