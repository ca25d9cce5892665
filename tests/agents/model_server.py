"""What the two loopback model servers share: a script, server-sent events, the server.

:mod:`fake_model` plays the OpenAI Responses API for ``codex``, :mod:`fake_anthropic` the
Anthropic Messages API for ``claude``. Both answer each request with the next step of a
script, read from the request's own history; they differ only in the wire shape of a step,
which each says in :meth:`ScriptedModel.answer`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Generic, TypeVar

#: What one step returns: an output item (Responses) or content blocks (Messages).
Out = TypeVar("Out")
ModelT = TypeVar("ModelT", bound="ScriptedModel[Any]")


class ScriptedModel(Generic[Out]):
    """A script of steps (each gets the request body), the requests seen, the port once
    served, and ``release``: set when the test ends, so a stalled step returns."""

    def __init__(self, script: list[Callable[[dict[str, Any]], Out]]) -> None:
        self.script = script
        self.requests: list[dict[str, Any]] = []
        self.port = 0
        self.release = threading.Event()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def answer(self, path: str, body: dict[str, Any]) -> tuple[bytes, str] | None:
        """The response body and its content type for a POST to ``path``; None is a 404."""
        raise NotImplementedError


def stalled(model: ScriptedModel[Out], then: Callable[[dict[str, Any]], Out],
            ) -> Callable[[dict[str, Any]], Out]:
    """A step that answers nothing until the test ends (the agent waits, its event stream
    goes quiet), then answers as ``then``."""

    def step(body: dict[str, Any]) -> Out:
        model.release.wait(120)
        return then(body)

    return step


def sse(events: Iterable[tuple[str, dict[str, Any]]]) -> bytes:
    """``(event name, data)`` pairs as one server-sent-events body."""
    return "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n"
                   for name, data in events).encode()


@contextmanager
def serve(model: ModelT) -> Iterator[ModelT]:
    """Serve ``model`` on an ephemeral loopback port until the block ends."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                self.send_error(400)
                return
            answer = model.answer(self.path, body)
            if answer is None:
                self.send_error(404)
                return
            data, kind = answer
            self.send_response(200)
            self.send_header("content-type", kind)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_HEAD(self) -> None:
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def do_GET(self) -> None:
            self.send_error(404)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    model.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield model
    finally:
        model.release.set()
        server.shutdown()
        server.server_close()
