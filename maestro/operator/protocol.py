"""uvicorn's HTTP/1.1 protocol, answering malformed requests in the API's JSON error shape.

uvicorn answers what h11 cannot parse (a garbage request line, headers past the size limit,
binary junk) with a plain-text 400 before any ASGI code runs. The operator API promises a
JSON envelope ``{"error": {"code", "message"}}`` for every refusal and the status h11
suggests (431 for oversized headers), so this subclass keeps h11's hint and writes the
envelope, and turns Nagle's algorithm off on each connection (:func:`send_at_once`). It
also bounds what connections may take of the daemon: at most :data:`MAX_CONNECTIONS` open
at once, and :data:`HEAD_TIMEOUT_S` for a new one to send its first request.
Everything else is uvicorn's own protocol.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from http import HTTPStatus
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

#: Bytes of request head h11 buffers before refusing with 431 (uvicorn's default is 16 KiB).
MAX_HEAD_BYTES = 16 * 1024
#: Open connections the server keeps at once; one more is closed as soon as it is accepted.
#: Each holds a file descriptor of the daemon's, which its poll loop needs too: a thousand
#: idle event streams or half-sent requests from any local process (an agent included:
#: reads are not peer-checked, and a request never completed is no write) used to exhaust
#: them (``EMFILE``) and end the daemon. A dashboard holds one or two.
MAX_CONNECTIONS = 128
#: Seconds a new connection has to send its first request's head before it is closed
#: (a client that opens connections and never finishes a request holds them otherwise).
HEAD_TIMEOUT_S = 10.0


class _HintingConnection(h11.Connection):
    """An h11 connection that remembers the status its last parse error suggested."""

    error_status = HTTPStatus.BAD_REQUEST

    def next_event(self) -> Any:
        try:
            return super().next_event()
        except h11.RemoteProtocolError as exc:
            try:
                self.error_status = HTTPStatus(exc.error_status_hint)
            except ValueError:
                self.error_status = HTTPStatus.BAD_REQUEST
            raise


def send_at_once(transport: asyncio.BaseTransport) -> None:
    """Turn off Nagle's algorithm on a TCP connection (others are left alone).

    uvicorn writes a response's head and body separately; with Nagle on, a small body
    waits for the client to acknowledge the head, which a client delays by up to 40 ms:
    every small answer on a kept-alive connection took about 45 ms (2 ms with this;
    ``bench/bench_state_api.py``'s static file row). asyncio turns it off only on sockets
    made with ``proto=IPPROTO_TCP``, and the server's listening socket is made plainly."""
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def error_body(status: HTTPStatus, message: str) -> bytes:
    """The API's error envelope: ``code`` is the status phrase in snake case."""
    code = "_".join(status.phrase.lower().replace("-", " ").split())
    return (json.dumps({"error": {"code": code, "message": message}}, indent=2) + "\n").encode()


class JsonErrorProtocol(H11Protocol):
    """:class:`H11Protocol` whose parse errors carry h11's status and a JSON body."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.conn = _HintingConnection(h11.SERVER, MAX_HEAD_BYTES)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        send_at_once(transport)
        super().connection_made(transport)
        if len(self.connections) > MAX_CONNECTIONS:
            transport.close()  # the daemon's descriptors are not for the taking
            return
        self.loop.call_later(HEAD_TIMEOUT_S, self._close_if_no_request)

    def _close_if_no_request(self) -> None:
        """The connection's first request head has not arrived in time: close it."""
        if self.cycle is None and self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def eof_received(self) -> bool:  # type: ignore[override]  # asyncio's contract
        """A client that half-closes after its request (``shutdown(SHUT_WR)``) still gets
        the answer, then the connection closes; uvicorn alone would drop it unanswered."""
        if self.cycle is None or self.cycle.response_complete:
            return False
        self.cycle.keep_alive = False
        return True

    def send_400_response(self, msg: str) -> None:
        status = getattr(self.conn, "error_status", HTTPStatus.BAD_REQUEST)
        body = error_body(status, f"malformed HTTP request ({status.phrase.lower()})")
        headers = [(b"content-type", b"application/json; charset=utf-8"),
                   (b"content-length", str(len(body)).encode()),
                   (b"connection", b"close")]
        for event in (h11.Response(status_code=int(status), headers=headers,
                                   reason=status.phrase.encode()),
                      h11.Data(data=body), h11.EndOfMessage()):
            self.transport.write(self.conn.send(event) or b"")
        self.transport.close()
