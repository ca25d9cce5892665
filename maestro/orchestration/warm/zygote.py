"""The fork server: ``python -m maestro.orchestration.warm.zygote FD`` (started by the
daemon only). It imports what a lane imports, then forks one child per ``spawn`` request;
the child becomes exactly what ``python -m maestro ...`` would be: its own stdio (the lane
log), no other open fd, the signal dispositions a cold interpreter started by the daemon
has, the working directory the daemon sent, and the environment the zygote was started
with, which the daemon checks is still its own (C ``environ``, entry by entry) before every
fork; ``os.environ`` is put back as it was before the imports, should one have changed it.

The zygote itself never runs lane code, holds no lock, token or connection, and refuses to
fork while it has more than one thread. It runs in a process group of its own and puts
each child into the daemon's group (from both sides of the fork, so no signal to the group
misses a started lane): the daemon's group holds the daemon and its lanes, as without it.
It ignores SIGINT, SIGTERM and SIGHUP (it keeps relaying the lanes' exit status to the
daemon while they stop) and exits when the daemon's end of the socket closes or its parent
changes.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import runpy
import selectors
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from maestro.orchestration.warm import loaded_code
from maestro.orchestration.warm.protocol import (
    c_environ,
    maestro_command,
    receive,
    returncode_of,
    send,
)
from maestro.process.exit import leave_forked

#: What a lane process imports on its way to the agent: the CLI, the config models
#: (pydantic), the pipeline and phases (doit, sh, httpx, ruamel.yaml come with them), the
#: embedded tracker and forge, the review phases doit loads with the pipeline, the sqlite3
#: backend of doit's database, Liquid, which renders the prompt, and what ``run_lane``
#: imports before the claim (admission, damage, doit's runner and database, the decoder of
#: WORKFLOW.md) (each import left to the lane is paid per dispatch).
PRELOAD = ("maestro.cli", "maestro.config.discovery", "maestro.config.service",
           "maestro.config.workflow", "maestro.pipeline", "maestro.pipeline.spec",
           "maestro.lanes.phases", "maestro.lanes.review", "maestro.lanes.noop",
           "maestro.lanes.context", "maestro.lanes.sessions.agent_run", "maestro.agents",
           "maestro.trackers.files", "maestro.forges.local", "doit", "doit.cmd_run",
           "doit.loader", "pydantic", "sh", "httpx", "asyncio", "sqlite3", "liquid",
           "maestro.lanes.admission", "maestro.lanes.record.damage", "maestro.pipeline.doit_run",
           "maestro.pipeline.doit_db", "encodings.utf_8_sig")

#: Dispositions the zygote changes and every child restores.
SHIELDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@dataclass
class Spawn:
    """A request as the forked child sees it, before it becomes the lane."""

    argv: list[str]
    cwd: str
    log_fd: int
    pgid: int  # the daemon's process group, which the lane joins


@dataclass(frozen=True)
class Birth:
    """What the zygote was given at exec, before any import could change it."""

    environ: list[str]  # C environ entries
    env: dict[str, str]  # os.environ
    signals: dict[signal.Signals, Any]


def main(argv: list[str]) -> None:
    birth = Birth(c_environ(), dict(os.environ),
                  {sig: signal.getsignal(sig) for sig in SHIELDED})
    for sig in SHIELDED:
        signal.signal(sig, signal.SIG_IGN)
    sock = socket.socket(fileno=int(argv[1]))
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError as exc:  # a lane would fail the same way, later and louder
            print(f"maestro zygote: cannot preload {name}: {exc}", file=sys.stderr)
    _build_ahead()
    since_ns = int(argv[2]) if len(argv) > 2 and argv[2].isdigit() else time.time_ns()
    spawn = serve(sock, os.getppid(), birth, loaded_code.take(since_ns))
    if spawn is not None:
        become_lane(spawn, birth)


def _build_ahead() -> None:
    """Work every lane does first and that depends on nothing but what the zygote is
    retired for changing: the command-line parser (maestro's code; a lane forked after a
    build takes it instead of building one), the libraries' first-use set-up of a
    workflow parse and a prompt render, done on maestro's own text, and the repository's
    config listing a lane asks for first, kept in the memo that checks it on every use
    (:mod:`~maestro.orchestration.warm.first_use`)."""
    try:
        from maestro.cli import build_parser_ahead
        from maestro.orchestration.warm import first_use
    except ImportError:  # reported with the preloads; the lane does it itself
        return
    build_parser_ahead()
    first_use.warm()
    first_use.know_repository(Path.cwd())  # the daemon starts its zygotes in repo_root


def serve(sock: socket.socket, parent: int, birth: Birth,
          loaded: loaded_code.LoadedCode | None = None) -> Spawn | None:
    """Answer requests until the daemon goes away (None), or return in a forked child.
    A daemon killed mid-conversation (its socket reset or closed under a write) is the
    daemon going away, not a crash: no traceback in ``zygote.log`` (breaker 25 F7)."""
    try:
        return _serve(sock, parent, birth, loaded)
    except (BrokenPipeError, ConnectionResetError):
        return None


def _serve(sock: socket.socket, parent: int, birth: Birth,
           loaded: loaded_code.LoadedCode | None) -> Spawn | None:
    children: dict[int, int] = {}  # pid -> pidfd, until the daemon says it saw the exit
    selector = selectors.DefaultSelector()
    selector.register(sock, selectors.EVENT_READ, None)
    send(sock, {"op": "hello", "pid": os.getpid()})
    while True:
        events = selector.select(timeout=1.0)
        if os.getppid() != parent:
            return None
        for key, _ in events:
            if key.data is not None:  # a child exited: report it, keep the zombie
                info = os.waitid(os.P_PIDFD, int(key.fd), os.WEXITED | os.WNOWAIT)
                selector.unregister(key.fd)
                if info is not None:
                    send(sock, {"op": "exited", "pid": key.data,
                                "returncode": returncode_of(info.si_code, info.si_status)})
                continue
            message, fds = receive(sock)
            if message is None:
                return None
            if message.get("op") == "reap":
                pidfd = children.pop(int(message.get("pid", 0)), None)
                if pidfd is not None:
                    os.waitid(os.P_PIDFD, pidfd, os.WEXITED)
                    os.close(pidfd)
                continue
            stale = loaded_code.changed(loaded) if loaded is not None else None
            if stale is not None:  # the daemon drains this zygote and starts the lane cold
                for fd in fds:
                    os.close(fd)
                send(sock, {"op": "error", "id": message.get("id"), "error": stale,
                            "stale": True})
                continue
            request = _spawn_request(message, fds, birth)
            if isinstance(request, str):
                for fd in fds:
                    os.close(fd)
                send(sock, {"op": "error", "id": message.get("id"), "error": request})
                continue
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                with contextlib.suppress(OSError):  # the parent's call below is the one
                    os.setpgid(0, request.pgid)    # that counts; this closes the race
                selector.close()
                for pidfd in children.values():
                    os.close(pidfd)
                sock.close()
                return request
            os.close(request.log_fd)
            pidfd = os.pidfd_open(pid)
            try:
                os.setpgid(pid, request.pgid)  # into the daemon's group, as a cold lane is
            except OSError as exc:
                os.kill(pid, signal.SIGKILL)
                os.waitid(os.P_PIDFD, pidfd, os.WEXITED)
                os.close(pidfd)
                send(sock, {"op": "error", "id": message.get("id"),
                            "error": f"cannot join the daemon's process group: {exc}"})
                continue
            children[pid] = pidfd
            selector.register(pidfd, selectors.EVENT_READ, pid)
            send(sock, {"op": "started", "id": message.get("id"), "pid": pid})


def _spawn_request(message: dict[str, Any], fds: list[int], birth: Birth) -> Spawn | str:
    """The request, or why this zygote will not fork it (the daemon then starts it cold)."""
    threads = len(os.listdir("/proc/self/task"))
    if threading.active_count() != 1 or threads != 1:
        return f"the zygote has {threads} threads; it forks only single-threaded"
    argv, cwd, pgid = message.get("argv"), message.get("cwd"), message.get("pgid")
    if message.get("op") != "spawn" or len(fds) != 1:
        return "not a spawn request with exactly one log fd"
    if not (isinstance(argv, list) and argv[:len(maestro_command())] == maestro_command()
            and all(isinstance(a, str) for a in argv)):
        return "argv is not this interpreter's 'python -P -m maestro ...'"
    if not isinstance(cwd, str) or not isinstance(pgid, int) or pgid <= 0:
        return "cwd or pgid is malformed"
    if message.get("environ") != birth.environ:
        return "the daemon's environment is not the one this zygote was started with"
    return Spawn(argv, cwd, fds[0], pgid)


def become_lane(spawn: Spawn, birth: Birth) -> None:
    """Turn this forked child into ``python -m maestro ...``; ends with the lane's exit
    status through :func:`maestro.process.exit.leave_forked` (threads, ``atexit`` and
    stream flushes as a cold lane's exit, without the module teardown that would copy the
    pages it shares with the zygote), or by an exception other than ``SystemExit``."""
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(spawn.log_fd, 1)
    os.dup2(spawn.log_fd, 2)
    for name in os.listdir("/proc/self/fd"):  # a cold lane starts with 0, 1, 2 only
        if int(name) > 2:
            with contextlib.suppress(OSError):
                os.close(int(name))
    for sig, handler in birth.signals.items():
        if handler is not None:  # None: set outside Python, which a fork keeps as it was
            signal.signal(sig, handler)
    os.chdir(spawn.cwd)
    if dict(os.environ) != birth.env:  # an import changed it: undo (C environ follows)
        os.environ.clear()
        os.environ.update(birth.env)
    sys.argv = ["-m", *spawn.argv[len(maestro_command()):]]
    try:
        runpy.run_module("maestro", run_name="__main__", alter_sys=True)
    except SystemExit as exc:  # any other exception: the interpreter's own exit, unchanged
        leave_forked(exc.code)
    leave_forked(0)


if __name__ == "__main__":
    main(sys.argv)
