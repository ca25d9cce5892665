"""A maestro process's environment (where its tokens live) is unreadable to other processes
of its user: the agent usually runs as that user (maestro/containment/undumpable.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

SECRET = "lin_api_not_for_the_agent"


def as_a_plain_process(argv: list[str]) -> list[str]:
    """``argv`` run without capabilities: what an agent of the same user holds. Root keeps
    ``CAP_SYS_PTRACE`` and reads any ``/proc/<pid>/environ``, so under root both sides drop
    every capability (same uid, no privilege)."""
    if os.geteuid() != 0:
        return argv
    if shutil.which("setpriv") is None:
        pytest.skip("running as root, and setpriv (util-linux) is not installed to drop "
                    "capabilities")
    return ["setpriv", "--inh-caps=-all", "--bounding-set=-all", "--", *argv]


@contextmanager
def running(code: str) -> Iterator[int]:
    """A Python process holding SECRET in its environment, after running ``code``; its pid."""
    if not os.path.isdir("/proc/self"):
        pytest.skip("reads /proc (Linux only)")
    env = {**os.environ, "LINEAR_API_KEY": SECRET}
    argv = [sys.executable, "-c", f"{code}\nimport sys\nprint('ready', flush=True)\n"
                                  "sys.stdin.read()"]
    proc = subprocess.Popen(as_a_plain_process(argv), env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        yield proc.pid
    finally:
        proc.kill()
        proc.wait()


def environment_seen_by_its_user(pid: int) -> str:
    """What ``cat /proc/<pid>/environ`` shows a process of the same user (empty if refused)."""
    seen = subprocess.run(as_a_plain_process(["cat", f"/proc/{pid}/environ"]),
                          capture_output=True, check=False)
    return seen.stdout.decode(errors="replace")


def test_a_process_that_imported_maestro_hides_its_environment_from_its_user() -> None:
    with running("import maestro") as pid:
        assert SECRET not in environment_seen_by_its_user(pid)


def test_a_process_without_maestro_shows_its_environment_to_its_user() -> None:
    # The reader above is able to see a leak: without maestro the same read finds the token.
    with running("pass") as pid:
        assert SECRET in environment_seen_by_its_user(pid)

