"""The daemon's half of a zygote: start it, ask it to fork, learn exits, and hand the
orchestrator lane handles that behave like :class:`subprocess.Popen` (``pid``, ``poll``,
``wait``, ``send_signal``, ``terminate``, ``kill``, ``returncode``).

The pid is reserved exactly as with Popen: the zygote keeps an exited lane as a zombie
until this side has read its exit status, so ``os.kill(pid, ...)`` can never hit a reused
pid while the daemon still holds the lane. Signals go through a pidfd opened while the lane
is still unreaped, which stays bound to that process even if the zygote dies. When the
zygote dies under a running lane, the lane keeps running (re-parented, like a cold lane
whose daemon died) and its end is seen through the pidfd; its exit status is then lost and
reads as :data:`LOST_STATUS`.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from maestro.orchestration.warm import freshness
from maestro.orchestration.warm.protocol import c_environ, receive, send

#: The returncode of a warm lane whose zygote died before relaying its exit status.
LOST_STATUS = 255
#: A healthy zygote answers a spawn request in milliseconds.
SPAWN_TIMEOUT_S = 10.0


class Zygote:
    """One running fork server; ``dead`` says why it may not be used any more."""

    def __init__(self, cwd: Path, log: Path) -> None:
        self.cwd = cwd
        started_ns = time.time_ns()  # before it imports: see warm/loaded_code.py
        self.fingerprint = freshness.take(c_environ())  # before it imports: never stale-fresh
        self.ready = False
        self.dead: str | None = None
        #: Why it refused a fork because its code is older than the disk's (it drains).
        self.stale: str | None = None
        self.forks = 0
        self.lanes: dict[int, WarmLane] = {}
        self._replies: dict[int, dict[str, Any]] = {}
        self._next_id = 0
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            log.parent.mkdir(parents=True, exist_ok=True)
            with log.open("ab") as err:
                self.process = subprocess.Popen(
                    [sys.executable, "-P", "-m", "maestro.orchestration.warm.zygote",
                     str(theirs.fileno()), str(started_ns)], cwd=cwd, stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL, stderr=err, pass_fds=[theirs.fileno()],
                    process_group=0)  # not in the daemon's group: only lanes are
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        ours.setblocking(False)
        self.sock = ours

    @property
    def pid(self) -> int:
        return self.process.pid

    def pump(self, timeout: float = 0.0) -> None:
        """Read every message waiting (waiting up to ``timeout`` s for the first)."""
        if self.dead is not None:
            return
        if self.sock.fileno() < 0:
            self.retire("its socket was closed")
            return
        if not select.select([self.sock], [], [], timeout)[0]:
            return
        while self.dead is None:
            try:
                message, fds = receive(self.sock)
            except BlockingIOError:
                return
            except (OSError, ValueError) as exc:
                self.retire(f"its socket failed: {exc}")
                return
            for fd in fds:
                os.close(fd)
            if message is None:
                self.retire("it exited")
                return
            self._handle(message)

    def _handle(self, message: dict[str, Any]) -> None:
        op = message.get("op")
        if op == "hello":
            self.ready = True
        elif op in ("started", "error") and isinstance(message.get("id"), int):
            self._replies[message["id"]] = message
        elif op == "exited":
            pid = int(message.get("pid", 0))
            lane = self.lanes.pop(pid, None)
            if lane is not None:
                lane.exited(int(message.get("returncode", LOST_STATUS)))
            try:
                send(self.sock, {"op": "reap", "pid": pid})
            except OSError as exc:
                self.retire(f"its socket failed: {exc}")

    def wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self.ready and self.dead is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.retire(f"it was not ready within {timeout:g}s")
                break
            self.pump(remaining)
        return self.ready and self.dead is None

    def spawn(self, argv: list[str], cwd: Path, log_fd: int) -> WarmLane | None:
        """Fork one lane; None (and the zygote retired) when it cannot."""
        self._next_id += 1
        request = self._next_id
        try:
            send(self.sock, {"op": "spawn", "id": request, "argv": argv, "cwd": str(cwd),
                             "environ": c_environ(), "pgid": os.getpgid(0)}, [log_fd])
        except OSError as exc:
            self.retire(f"its socket failed: {exc}")
            return None
        deadline = time.monotonic() + SPAWN_TIMEOUT_S
        while request not in self._replies and self.dead is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.retire(f"no answer to a spawn request within {SPAWN_TIMEOUT_S:g}s")
                return None
            self.pump(remaining)
        reply = self._replies.pop(request, None)
        if reply is None:
            return None
        if reply.get("op") != "started" and reply.get("stale") is True:
            self.stale = str(reply.get("error"))  # still relays its lanes' exits
            return None
        if reply.get("op") != "started":
            self.retire(f"it refused to fork: {reply.get('error')}")
            return None
        lane = WarmLane(int(reply["pid"]), self)
        self.lanes[lane.pid] = lane
        self.forks += 1
        return lane

    def retire(self, reason: str, graceful: bool = False) -> None:
        """Stop using this zygote. A failed one is killed at once, a closed one exits on
        EOF (up to 5 s); lanes it forked keep running either way (they are in the daemon's
        group, not its own) and are then followed through their pidfds."""
        if self.dead is not None:
            return
        self.dead = reason
        with contextlib.suppress(OSError):
            self.sock.close()
        if not graceful:
            self.process.kill()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def close(self) -> None:
        """Retire it gracefully: relay what is already waiting, then let it exit (EOF)."""
        self.pump()
        self.retire("closed", graceful=True)


class WarmLane:
    """A lane forked by a zygote, as the orchestrator sees it (a Popen look-alike)."""

    def __init__(self, pid: int, zygote: Zygote) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self.zygote = zygote
        # The zygote has not reaped it (it waits for our "reap"), so this is our process.
        self._pidfd: int | None = os.pidfd_open(pid)

    def exited(self, returncode: int) -> None:
        self.returncode = returncode
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.zygote.pump()
        orphaned = self.returncode is None and self.zygote.dead is not None
        if orphaned and self._pidfd is not None and select.select([self._pidfd], [], [], 0)[0]:
            self.exited(LOST_STATUS)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            remaining = 1.0 if deadline is None else min(1.0, deadline - time.monotonic())
            if remaining <= 0:
                raise subprocess.TimeoutExpired(f"lane {self.pid}", timeout or 0)
            if self.zygote.dead is None:
                self.zygote.pump(remaining)
            elif self._pidfd is not None:
                select.select([self._pidfd], [], [], remaining)
        return code

    def send_signal(self, sig: int) -> None:
        if self.poll() is None and self._pidfd is not None:
            with contextlib.suppress(ProcessLookupError):
                signal.pidfd_send_signal(self._pidfd, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)
