"""A real HTTP server on 127.0.0.1 with scripted faults and a record of every request.

``LoopbackServer(handler)`` answers each POST with ``handler(request)``, and each GET with
``get_handler(request)`` when one is given (a REST side beside a GraphQL endpoint). Tests
queue faults (``server.fail(...)``, ``server.delay(...)``) that replace or delay the next
answers, in order, which is how rate limits, 5xx, timeouts and malformed payloads are made.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    @property
    def operation(self) -> str | None:
        try:
            payload = self.json()
        except ValueError:
            return None
        query = payload.get("query", "") if isinstance(payload, dict) else ""
        for keyword in ("query", "mutation"):
            head = query.strip()
            if head.startswith(keyword):
                name = head[len(keyword):].strip().split("(")[0].split("{")[0].strip()
                return name or None
        return None


@dataclass
class Reply:
    status: int = 200
    body: bytes | str | Any = b""
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body).encode()


@dataclass
class Fault:
    """Replace the answer (``reply``) and/or wait first (``delay_s``) for one request,
    the next one of them or, with ``operation``, the next one running that operation."""

    reply: Reply | None = None
    delay_s: float = 0.0
    operation: str | None = None
    #: The handler runs first (the write is carried out), then ``reply`` replaces its
    #: answer: a proxy's 502 or a timeout after the service did the work.
    after: bool = False


Handler = Callable[[Request], Reply]


class LoopbackServer:
    """Serve ``handler`` on an ephemeral loopback port in a background thread."""

    def __init__(self, handler: Handler, get_handler: Handler | None = None) -> None:
        self.handler = handler
        self.get_handler = get_handler
        self.requests: list[Request] = []
        self.faults: deque[Fault] = deque()
        self.crashes: list[str] = []
        self._lock = threading.Lock()
        outer = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out as two writes

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                self._reply(outer._answer(Request("POST", self.path, {
                    k.lower(): v for k, v in self.headers.items()}, body)))

            def do_GET(self) -> None:
                request = Request("GET", self.path, {k.lower(): v for k, v in
                                                     self.headers.items()}, b"")
                self._reply(outer._answer(request))

            def _reply(self, reply: Reply) -> None:
                data = reply.encoded()
                try:
                    self.send_response(reply.status)
                    if "Content-Type" not in reply.headers:
                        self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/graphql"

    def _answer(self, request: Request) -> Reply:
        with self._lock:
            self.requests.append(request)
            fault = next((f for f in self.faults
                          if f.operation is None or f.operation == request.operation), None)
            if fault is not None:
                self.faults.remove(fault)
        if fault is not None and fault.delay_s:
            time.sleep(fault.delay_s)
        if fault is not None and fault.reply is not None and not fault.after:
            return fault.reply
        try:
            if request.method == "GET":
                if self.get_handler is None:
                    return Reply(405, {"message": "this fake serves POST only"})
                answer = self.get_handler(request)
            else:
                answer = self.handler(request)
        except Exception as exc:  # a bug in a fake: answer 500 and keep it for the test
            self.crashes.append(f"{type(exc).__name__}: {exc}")
            return Reply(500, {"message": "fake server crashed"})
        return fault.reply if fault is not None and fault.reply is not None else answer

    # -- scripting -------------------------------------------------------------------------

    def fail(self, status: int = 500, body: Any = b"", headers: dict[str, str] | None = None,
             times: int = 1, operation: str | None = None) -> None:
        """The next ``times`` requests (of ``operation``, if given) get this answer instead."""
        for _ in range(times):
            self.faults.append(Fault(reply=Reply(status, body, dict(headers or {})),
                                     operation=operation))

    def lose_answer(self, status: int = 502, times: int = 1, operation: str | None = None,
                    body: Any = b"<html>bad gateway</html>") -> None:
        """The next ``times`` requests (of ``operation``, if given) are carried out, and
        their answer is replaced by ``status`` and ``body``: a write whose answer was
        lost, or refused in words after it was done."""
        headers = {"Content-Type": "text/html"} if isinstance(body, bytes) else {}
        for _ in range(times):
            self.faults.append(Fault(reply=Reply(status, body, headers),
                                     operation=operation, after=True))

    def delay(self, seconds: float, times: int = 1, operation: str | None = None) -> None:
        """The next ``times`` requests (of ``operation``, if given) wait ``seconds`` first."""
        for _ in range(times):
            self.faults.append(Fault(delay_s=seconds, operation=operation))

    def reset_counts(self) -> None:
        with self._lock:
            self.requests.clear()

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> LoopbackServer:
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,),
                                        name="loopback-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @contextmanager
    def running(self) -> Iterator[LoopbackServer]:
        self.start()
        try:
            yield self
        finally:
            self.stop()
