"""Messages between the daemon and its zygote: one JSON object per ``SOCK_SEQPACKET``
datagram (boundaries kept by the socket), file descriptors as ``SCM_RIGHTS`` beside them.

daemon → zygote: ``{"op": "spawn", "id": N, "argv": [...], "cwd": "...", "environ": [...],
"pgid": G}`` (G: the daemon's process group, which the lane joins) with the lane's log fd
attached (``environ``: the daemon's :func:`c_environ` at dispatch, which must equal the
zygote's own at its start, or it refuses); ``{"op": "reap", "pid": P}`` once the daemon has
seen P's exit (until then P stays a zombie, so its pid cannot be reused, as with Popen).

zygote → daemon: ``{"op": "hello", "pid": Z}`` when the imports are done;
``{"op": "started", "id": N, "pid": P}`` or ``{"op": "error", "id": N, "error": "..."}``;
``{"op": "exited", "pid": P, "returncode": R}`` (R < 0: killed by signal -R, as Popen).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
from typing import Any

#: Bytes read per datagram; a spawn request carries the whole environment (a few KiB).
MAX_MESSAGE = 1 << 20


def send(sock: socket.socket, message: dict[str, Any], fds: list[int] | None = None) -> None:
    """Send one message (and ``fds``); raises OSError when the peer is gone."""
    data = json.dumps(message).encode()
    if fds:
        socket.send_fds(sock, [data], fds)
    else:
        sock.sendall(data)


def receive(sock: socket.socket) -> tuple[dict[str, Any] | None, list[int]]:
    """One message and the fds that came with it; ``(None, [])`` at end of stream.

    Raises BlockingIOError on a non-blocking socket with nothing to read, ValueError on a
    message that is not a JSON object."""
    data, fds, _flags, _addr = socket.recv_fds(sock, MAX_MESSAGE, 4)
    if not data:
        for fd in fds:
            _close(fd)
        return None, []
    message = json.loads(data)
    if not isinstance(message, dict):
        raise ValueError("zygote message is not a JSON object")
    return message, list(fds)


def maestro_command() -> list[str]:
    """``python -P -m maestro``: how a lane process starts cold, and what a warm one must be
    asked for. ``-P`` keeps the working directory (the repository root, which the agent can
    write without the sandbox) off ``sys.path``, so a ``maestro/`` folder there is never
    imported in maestro's place."""
    return [sys.executable, "-P", "-m", "maestro"]


def c_environ() -> list[str]:
    """The process's C ``environ``, entry by entry (``os.fsdecode``d for JSON): exactly what
    ``subprocess.Popen(env=None)`` hands a cold lane. ``os.environ`` is not enough: a
    library's ``putenv`` (ncurses sets LINES and COLUMNS) reaches children without
    appearing there."""
    import ctypes

    table = ctypes.POINTER(ctypes.c_char_p).in_dll(ctypes.CDLL(None), "environ")
    entries: list[str] = []
    while table and (entry := table[len(entries)]) is not None:
        entries.append(os.fsdecode(entry))
    return entries


def returncode_of(code: int, status: int) -> int:
    """Popen's returncode from a ``waitid`` result: the exit code, or minus the signal."""
    if code in (os.CLD_KILLED, os.CLD_DUMPED):
        return -status
    return status


def _close(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.close(fd)
