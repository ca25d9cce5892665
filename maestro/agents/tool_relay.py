"""The relay between an agent's MCP tool server and the lane process that holds the tokens.

An agent that takes its tools over MCP (Claude Code, ACP agents) starts the tool server
itself, as a child in its own process tree (:mod:`maestro.agents.mcp_tools`). That child
must hold no tracker or forge credential, so it executes nothing: it relays each
``tools/call`` over a unix socket to the lane process, which answers with the same
:meth:`~maestro.agents.tools.ToolBridge.answer` the app-server path uses — one policy, one
journal, one idempotency record for every transport.

The socket lives in a fresh private folder (mode 0700) under the system's temporary folder
(a unix socket path is limited to ~100 bytes). Every process of the same user can reach it,
another lane's agent too (the bubblewrap sandbox shares ``/tmp``), so a connection is
answered only when the process that made it (``SO_PEERCRED``) is this lane process or runs
below it (:func:`maestro.containment.lineage.descends_from`): this lane's agent and the
tool server it started. Anything else gets a refusal for each request, and moves neither
the call count nor the activity clock.

Wire: one JSON object per line each way, request ``{"id": int, "tool": str, "arguments":
object}``, answer ``{"id": int, "ok": bool, "text": str}``; a line that is not such a request
gets ``ok: false`` with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import struct
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from maestro.agents.tools import ToolAnswer
from maestro.containment import lineage
from maestro.containment.private_tmp import TOOL_RELAYS, private_folder
from maestro.fsutil import parse_json

#: A tool argument may be 64 KiB of text; JSON escaping can double it.
LINE_LIMIT = 1024 * 1024
SOCKET_NAME = "tools.sock"

Answer = Callable[[str, Any], ToolAnswer]

#: Name prefix of each relay folder in the user's private folder of relays.
RELAY_PREFIX = "relay-"
#: Seconds a relay folder must be old before a dead one is swept (one being made is young).
STALE_AFTER_S = 60.0


def sweep_dead_relays(root: Path, now: float | None = None) -> list[str]:
    """Remove the relay folders under ``root`` a killed lane left behind: older than
    :data:`STALE_AFTER_S` and with no process listening on their socket any more (a
    connection is refused, or there is no socket). Returns their names."""
    now = time.time() if now is None else now
    swept = []
    for folder in root.glob(f"{RELAY_PREFIX}*"):
        try:
            if now - folder.lstat().st_mtime < STALE_AFTER_S or not folder.is_dir():
                continue
        except OSError:
            continue
        if _listening(folder / SOCKET_NAME):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        swept.append(folder.name)
    return swept


def _listening(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        try:
            probe.connect(str(path))
        except OSError:
            return False
    return True


class ToolRelay:
    """The lane side: serves ``answer(tool, arguments)`` on a private unix socket.

    ``last_activity`` (monotonic seconds) moves when a call arrives and when it is answered,
    so stall detection counts a long tool call (validation before a push) as activity."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        # read-only in every sandbox: no other lane's agent can replace this socket
        root = private_folder(TOOL_RELAYS)
        sweep_dead_relays(root)
        self.folder = Path(tempfile.mkdtemp(prefix=RELAY_PREFIX, dir=root))
        self.folder.chmod(0o700)
        self.path = self.folder / SOCKET_NAME
        self.last_activity = time.monotonic()
        self.calls = 0
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_unix_server(self._serve, path=str(self.path),
                                                       limit=LINE_LIMIT)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
        shutil.rmtree(self.folder, ignore_errors=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        refusal = foreign_peer(writer.get_extra_info("socket"))
        try:
            while True:
                try:
                    raw = await reader.readline()
                except (ValueError, ConnectionError):
                    return
                if not raw:
                    return
                if refusal is not None:  # no activity either: not this lane's agent
                    reply: dict[str, Any] = {"id": None, "ok": False, "text": refusal}
                else:
                    self.last_activity = time.monotonic()
                    reply = self._reply(raw)
                    self.last_activity = time.monotonic()
                writer.write((json.dumps(reply) + "\n").encode())
                await writer.drain()
        except ConnectionError:
            return
        finally:
            writer.close()

    def _reply(self, raw: bytes) -> dict[str, Any]:
        try:
            request = parse_json(raw)
            if not isinstance(request, dict) or not isinstance(request.get("tool"), str):
                raise ValueError("expected {\"tool\": str, \"arguments\": object}")
        except ValueError as exc:
            return {"id": None, "ok": False, "text": f"refused: malformed relay request: {exc}"}
        self.calls += 1
        answer = self.answer(request["tool"], request.get("arguments"))
        return {"id": request.get("id"), "ok": answer.ok, "text": answer.text}


def foreign_peer(sock: Any) -> str | None:
    """Why the process at the other end of the unix socket ``sock`` may not use this
    lane's tools (it is not this process or one below it), or None. Where the kernel does
    not say who connected (not Linux), everyone may, as before; where it could but did not
    (no socket, a failed ``SO_PEERCRED``), nobody may."""
    if not hasattr(socket, "SO_PEERCRED") or not lineage.supported():
        return None
    try:
        pid, _, _ = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                                         struct.calcsize("3i")))
    except (OSError, AttributeError) as exc:
        return f"refused: this tool relay cannot tell which process connected ({exc})"
    if pid > 0 and lineage.descends_from(pid, os.getpid()):
        return None
    return (f"refused: this tool relay serves the agent of the lane process {os.getpid()} "
            f"only; process {pid} is another lane's or none; an agent acts on its own "
            "issue only")


class RelayClient:
    """The tool server's side: one connection, one call at a time (blocking, small)."""

    def __init__(self, path: str, timeout: float | None = None) -> None:
        self.path = path
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._file: Any = None
        self._next = 0

    def call(self, tool: str, arguments: Any) -> ToolAnswer:
        """Relay one call; a lane that cannot be reached is a failed call, not a crash."""
        try:
            if self._sock is None:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.settimeout(self.timeout)
                sock.connect(self.path)
                self._sock, self._file = sock, sock.makefile("rwb")
            self._next += 1
            line = json.dumps({"id": self._next, "tool": tool, "arguments": arguments})
            self._file.write(line.encode() + b"\n")
            self._file.flush()
            raw = self._file.readline(LINE_LIMIT)
            if not raw:
                raise ConnectionError("the lane closed the tool relay")
            reply = parse_json(raw)
            return ToolAnswer(bool(reply.get("ok")), str(reply.get("text", "")))
        except (OSError, ValueError) as exc:
            self.close()
            return ToolAnswer(False, f"failed: maestro's lane process is unreachable: {exc}")

    def close(self) -> None:
        with contextlib.suppress(OSError):
            if self._file is not None:
                self._file.close()
            if self._sock is not None:
                self._sock.close()
        self._sock = self._file = None
