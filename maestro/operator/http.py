"""The operator HTTP server: :func:`maestro.operator.app.create_app` under uvicorn.

It runs in a daemon thread beside the poll loop (``maestro daemon``), on a socket bound
here so a bad address fails at once with a one-line error and port ``0`` reports the port
it got. Off unless an address is configured (:mod:`maestro.operator.listen`). The server
only reads lane folders; its writes are the daemon's refresh flag and the operator's
actions, each behind the guards of :mod:`maestro.operator.guards`.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Sequence

import uvicorn
from starlette.routing import BaseRoute

from maestro.config.service import ServiceConfig
from maestro.errors import InputError, MaestroError
from maestro.operator.api import refresh_flag
from maestro.operator.app import create_app
from maestro.operator.guards import is_loopback
from maestro.operator.listen import operator_token, parse_listen_address, resolve_listen
from maestro.operator.protocol import JsonErrorProtocol

__all__ = ["OperatorServer", "parse_listen_address", "refresh_flag", "start_if_configured"]

#: Seconds ``start`` waits for uvicorn to come up, and ``stop`` for it to go.
STARTUP_S = 10.0
#: Seconds open event streams get to end when the server stops.
GRACEFUL_S = 2


def _bind(host: str, port: int, listen: str) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(64)
    except OSError as exc:
        sock.close()
        raise InputError(f"operator_http.listen_address {listen}: cannot listen: "
                         f"{exc.strerror or exc}") from None
    sock.set_inheritable(False)
    return sock


class OperatorServer:
    """The server in a daemon thread; ``start()`` returns the bound ``(host, port)``."""

    def __init__(self, config: ServiceConfig, address: str | None = None, limit: int = 20,
                 extra_routes: Sequence[BaseRoute] = (),
                 signed_routes: Sequence[BaseRoute] = ()) -> None:
        listen = address or config.operator_http.listen_address
        if not listen:
            raise InputError("operator_http.listen_address is not configured")
        host, port = parse_listen_address(listen)
        token = operator_token(config, host)
        self.socket = _bind(host, port, listen)
        self.app = create_app(config, limit=limit, extra_routes=extra_routes,
                              signed_routes=signed_routes, loopback=is_loopback(host),
                              token=token)
        # uvicorn's own logging setup would take over the process's loggers: keep ours.
        logging.getLogger("uvicorn.error").setLevel(logging.ERROR)
        self.server = uvicorn.Server(uvicorn.Config(
            self.app, http=JsonErrorProtocol, ws="none", lifespan="off", log_config=None,
            access_log=False, server_header=False, timeout_keep_alive=5,
            timeout_graceful_shutdown=GRACEFUL_S,
            # The peer guard names the process at the other end of the TCP connection;
            # uvicorn's default trusts X-Forwarded-For from 127.0.0.1, which let any local
            # client pick the address the guard looked up (breaker 16, F2).
            proxy_headers=False))
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.socket.getsockname()[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        host, port = self.address
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def start(self) -> tuple[str, int]:
        self._thread = threading.Thread(target=self.server.run,
                                        kwargs={"sockets": [self.socket]},
                                        name="maestro-operator-http", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + STARTUP_S
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise MaestroError("the operator HTTP server did not start")
            time.sleep(0.01)
        return self.address

    def stop(self) -> None:
        self.app.state.stopping.set()  # event streams end at their next beat
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=STARTUP_S + GRACEFUL_S)
        self.socket.close()


def start_if_configured(config: ServiceConfig, port: int | None = None) -> OperatorServer | None:
    """What the daemon calls: a running server when an address is configured (``--port``,
    ``[operator_http] listen_address`` or ``server.port``), else nothing."""
    from maestro.operator.metrics import metrics_routes
    from maestro.operator.webhooks import webhook_routes

    listen = resolve_listen(config, port)
    if listen is None:
        return None
    # Webhooks authenticate by their signature (a proxy's Host, no token); /metrics is
    # guarded like every other route (Prometheus can send the bearer token).
    server = OperatorServer(config, listen, extra_routes=metrics_routes(config),
                            signed_routes=webhook_routes(config))
    server.start()
    return server
