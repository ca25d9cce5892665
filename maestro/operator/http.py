"""The operator HTTP surface: the status snapshot over loopback, and a small dashboard.

It only reads lane folders (through :func:`maestro.operator.status.snapshot`) and never drives a
lane. The one write is ``POST /api/v1/refresh``, which creates the daemon's refresh flag
file; the daemon breaks its sleep when it sees the file, so many requests before the next
tick collapse into one tick by nature.

Off unless ``[operator_http] listen_address`` is configured. The standard library server is
enough: the state is a few kilobytes of JSON and the audience is one operator's browser.
"""

from __future__ import annotations

import ipaddress
import json
import re
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit

from maestro.config.service import ServiceConfig
from maestro.errors import InputError
from maestro.fsutil import write_atomic
from maestro.ids import iso_now
from maestro.operator.status import snapshot

#: Requests longer than this are refused before any parsing of the path.
MAX_PATH = 512
_ISSUE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_ALLOWED = "GET, HEAD, POST"
_LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


def refresh_flag(config: ServiceConfig) -> Path:
    """The file the daemon polls for; see
    :meth:`~maestro.orchestration.orchestrator.Orchestrator.daemon`."""
    return config.state_root / "refresh.request"


def parse_listen_address(value: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:8900`` for IPv6); a bare port means loopback."""
    host, sep, port_text = value.rpartition(":")
    if not sep:
        host, port_text = "", value
    host = host.strip("[]") or "127.0.0.1"
    try:
        port = int(port_text)
    except ValueError:
        raise InputError(f"operator_http.listen_address: expected host:port, got {value!r}"
                         ) from None
    if not 0 <= port <= 65535:
        raise InputError(f"operator_http.listen_address: port {port} out of range")
    return host, port


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    config: ServiceConfig
    limit: int


class OperatorHandler(BaseHTTPRequestHandler):
    """Routes: ``/``, ``/state``, ``/api/v1/state``, ``/api/v1/<issue>``, ``/api/v1/refresh``."""

    server: _Server
    server_version = "maestro-operator"
    sys_version = ""
    protocol_version = "HTTP/1.1"
    timeout = 30  # seconds a connection may sit idle: a slow client cannot hold a thread
    routes_get: ClassVar[tuple[str, ...]] = ("/", "/state", "/api/v1/state")

    # -- plumbing --------------------------------------------------------------------------

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the operator's terminal belongs to the live view, not to access logs."""

    def _send(self, status: HTTPStatus, body: bytes, content_type: str,
              extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: HTTPStatus, value: Any, extra: dict[str, str] | None = None) -> None:
        body = (json.dumps(value, indent=2, sort_keys=True, default=str) + "\n").encode()
        self._send(status, body, "application/json; charset=utf-8", extra)

    def _error(self, status: HTTPStatus, message: str,
               extra: dict[str, str] | None = None) -> None:
        self._json(status, {"error": {"code": re.sub(r"\W+", "_", status.phrase.lower()),
                                      "message": message}}, extra)

    def _path(self) -> str | None:
        """The decoded request path, or ``None`` after answering a malformed one."""
        if len(self.path) > MAX_PATH:
            self._error(HTTPStatus.REQUEST_URI_TOO_LONG, f"path longer than {MAX_PATH} bytes")
            return None
        path = unquote(urlsplit(self.path).path)
        if not path.startswith("/") or "\x00" in path:
            self._error(HTTPStatus.BAD_REQUEST, "malformed request path")
            return None
        return path.rstrip("/") or "/"

    def send_error(self, code: int, message: str | None = None,
                   explain: str | None = None) -> None:
        """Errors the base class raises itself (bad request line, oversized headers) as JSON."""
        if getattr(self, "request_version", "") not in ("HTTP/1.0", "HTTP/1.1"):
            self.request_version = "HTTP/1.0"  # unparsable request line: still send a status
        if code == HTTPStatus.NOT_IMPLEMENTED:  # a method with no do_* handler
            self._not_allowed()
            return
        try:
            status = HTTPStatus(code)
        except ValueError:
            status = HTTPStatus.BAD_REQUEST
        self.close_connection = True
        self._error(status, message or status.phrase)

    # -- methods ---------------------------------------------------------------------------

    def _trusted(self) -> bool:
        """Refuse what a hostile web page could send through the operator's browser.

        On a loopback listener the Host must be a loopback name (a DNS-rebinding page carries
        its own host name), and a POST that carries an Origin must come from this server's
        own pages (a cross-site form or fetch carries the other site's origin).
        """
        host = self.headers.get("Host", "")
        name = host.rsplit(":", 1)[0] if not host.startswith("[") else host[1:host.find("]")]
        if _is_loopback(str(self.server.server_address[0])) and (
                name.lower() not in _LOOPBACK_NAMES):
            self._error(HTTPStatus.FORBIDDEN, "this server answers loopback host names only")
            return False
        origin = self.headers.get("Origin")
        if (self.command == "POST" and origin is not None
                and urlsplit(origin).netloc.lower() != host.lower()):
            self._error(HTTPStatus.FORBIDDEN, "cross-origin requests are refused")
            return False
        return True

    def do_GET(self) -> None:
        path = self._path()
        if path is None or not self._trusted():
            return
        if path == "/":
            self._send(HTTPStatus.OK, DASHBOARD_HTML.encode(), "text/html; charset=utf-8")
        elif path in ("/state", "/api/v1/state"):
            self._json(HTTPStatus.OK, snapshot(self.server.config, self.server.limit))
        elif path == "/api/v1/refresh":
            self._error(HTTPStatus.METHOD_NOT_ALLOWED, "use POST to queue a refresh",
                        {"Allow": "POST"})
        elif path.startswith("/api/v1/"):
            self._issue(path.removeprefix("/api/v1/"))
        else:
            self._error(HTTPStatus.NOT_FOUND, f"no such route: {path[:80]}")

    do_HEAD = do_GET

    def do_POST(self) -> None:
        path = self._path()
        if path is None or not self._trusted():
            return
        length = self.headers.get("Content-Length", "0")
        if not length.isdigit() or int(length) > 4096:
            self.close_connection = True
            self._error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "refresh takes no body")
            return
        self.rfile.read(int(length))
        if path != "/api/v1/refresh":
            if path in self.routes_get or path.startswith("/api/v1/"):
                self._error(HTTPStatus.METHOD_NOT_ALLOWED, "this route is read-only",
                            {"Allow": "GET, HEAD"})
            else:
                self._error(HTTPStatus.NOT_FOUND, f"no such route: {path[:80]}")
            return
        flag = refresh_flag(self.server.config)
        coalesced = flag.exists()
        if not coalesced:
            write_atomic(flag, iso_now() + "\n")
        self._json(HTTPStatus.ACCEPTED, {"queued": True, "coalesced": coalesced,
                                         "requested_at": iso_now()})

    def _not_allowed(self) -> None:
        self.close_connection = True
        self._error(HTTPStatus.METHOD_NOT_ALLOWED, f"method {self.command} not allowed",
                    {"Allow": _ALLOWED})

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_TRACE = do_CONNECT = _not_allowed

    def _issue(self, identifier: str) -> None:
        if not _ISSUE.fullmatch(identifier) or ".." in identifier:
            self._error(HTTPStatus.BAD_REQUEST, "not an issue identifier: expected 1-64 "
                        "letters, digits, '.', '_' or '-'")
            return
        snap = snapshot(self.server.config, self.server.limit)
        lane = next((item for item in snap["lanes"] if item["issue"] == identifier), None)
        if lane is None:
            self._error(HTTPStatus.NOT_FOUND, f"no lane for issue {identifier}")
            return
        self._json(HTTPStatus.OK, {"schema_version": snap["schema_version"],
                                   "generated_at": snap["generated_at"],
                                   "project_id": snap["project_id"], "lane": lane})


class OperatorServer:
    """The server in a daemon thread; ``start()`` returns the bound ``(host, port)``."""

    def __init__(self, config: ServiceConfig, address: str | None = None,
                 limit: int = 20) -> None:
        listen = address or config.operator_http.listen_address
        if not listen:
            raise InputError("operator_http.listen_address is not configured")
        host, port = parse_listen_address(listen)
        family = _Server.address_family
        try:
            if ipaddress.ip_address(host).version == 6:
                import socket

                family = socket.AF_INET6
        except ValueError:
            pass  # a host name: IPv4 resolution

        class Server(_Server):
            address_family = family

        try:
            self.httpd = Server((host, port), OperatorHandler)
        except OSError as exc:
            raise InputError(f"operator_http.listen_address {listen}: cannot listen: "
                             f"{exc.strerror}") from None
        self.httpd.config = config
        self.httpd.limit = limit
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.httpd.server_address[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        host, port = self.address
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def start(self) -> tuple[str, int]:
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,),
                                        name="maestro-operator-http", daemon=True)
        self._thread.start()
        return self.address

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


def start_if_configured(config: ServiceConfig) -> OperatorServer | None:
    """What the daemon calls: a running server when configured, else nothing."""
    if not config.operator_http.listen_address:
        return None
    server = OperatorServer(config)
    server.start()
    return server


DASHBOARD_HTML = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>maestro</title>
<style>
  :root { color-scheme: light dark; --muted: #888; --ok: #2e7d32; --warn: #b26a00;
          --bad: #c62828; --run: #1565c0; }
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; }
  h1 { font-size: 1.3rem; margin: 0 0 .2rem; }
  h2 { font-size: 1rem; margin: 1.4rem 0 .4rem; }
  #meta { color: var(--muted); }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: .25rem .6rem; border-bottom: 1px solid #8884;
           vertical-align: top; }
  th { font-weight: 600; }
  .running { color: var(--run); font-weight: 600; }
  .finished { color: var(--ok); }
  .needs_human { color: var(--bad); font-weight: 600; }
  .waiting { color: var(--warn); }
  .empty { color: var(--muted); font-style: italic; }
  button { font: inherit; }
</style>
</head>
<body>
<h1>maestro <span id="project"></span></h1>
<div id="meta">loading…</div>
<button id="refresh" type="button">tick now</button>
<h2>Lanes</h2>
<table id="lanes"><thead><tr><th>issue</th><th>phase</th><th>outcome</th><th>attempt</th>
<th>review</th><th>last event</th><th>idle s</th><th>tokens</th><th>why</th></tr></thead>
<tbody></tbody></table>
<h2>Retry queue</h2>
<table id="retries"><thead><tr><th>issue</th><th>attempt</th><th>kind</th><th>due at</th>
<th>error</th><th>reason</th></tr></thead><tbody></tbody></table>
<h2>Tokens</h2>
<div id="tokens"></div>
<script>
"use strict";
const POLL_MS = 2000;
function cell(row, text, cls) {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined ? "" : String(text);
  if (cls) td.className = cls;
  row.appendChild(td);
}
function fill(tbody, rows, columns, emptyText) {
  tbody.replaceChildren();
  if (!rows.length) {
    const tr = document.createElement("tr");
    const td = document.createElement("td");
    td.colSpan = columns; td.className = "empty"; td.textContent = emptyText;
    tr.appendChild(td); tbody.appendChild(tr);
  }
  for (const r of rows) tbody.appendChild(r);
}
function render(snap) {
  document.getElementById("project").textContent = "· " + snap.project_id;
  const tick = snap.last_tick ? snap.last_tick.at : "never";
  document.getElementById("meta").textContent =
    "generated " + snap.generated_at + " · last tick " + tick + " · " +
    snap.active.length + " active · " + snap.needs_human.length + " need a human";
  const rows = snap.lanes.map((lane) => {
    const tr = document.createElement("tr");
    tr.dataset.issue = lane.issue;
    const review = lane.review ? lane.review.classification : "";
    const why = lane.needs_human ? lane.needs_human.reason : (lane.wait_reason || lane.reason);
    const state = lane.running ? "running" : (lane.needs_human ? "needs_human" : lane.outcome);
    cell(tr, lane.issue);
    cell(tr, lane.phase + (lane.running ? " ▶" : ""), lane.running ? "running" : "phase");
    cell(tr, lane.outcome, state);
    cell(tr, lane.attempt);
    cell(tr, review);
    cell(tr, lane.last_event_type);
    cell(tr, lane.idle_seconds);
    cell(tr, (lane.tokens || {}).totalTokens);
    cell(tr, why);
    return tr;
  });
  fill(document.querySelector("#lanes tbody"), rows, 9, "no lanes yet");
  const retries = snap.retrying.map((item) => {
    const tr = document.createElement("tr");
    for (const key of ["issue", "attempt", "kind", "due_at", "error_class", "reason"]) {
      cell(tr, item[key]);
    }
    return tr;
  });
  fill(document.querySelector("#retries tbody"), retries, 6, "no retries queued");
  const totals = Object.entries(snap.token_totals).sort()
    .map(([k, v]) => k + " " + v).join(" · ");
  document.getElementById("tokens").textContent = totals || "none yet";
  document.body.dataset.generatedAt = snap.generated_at;
}
async function poll() {
  try {
    const response = await fetch("api/v1/state", {cache: "no-store"});
    if (response.ok) render(await response.json());
  } catch (err) {
    document.getElementById("meta").textContent = "cannot reach maestro: " + err;
  }
}
document.getElementById("refresh").addEventListener("click", async () => {
  await fetch("api/v1/refresh", {method: "POST"});
});
poll();
setInterval(poll, POLL_MS);
</script>
</body>
</html>
"""
