"""Where the operator server listens, and whether it needs a token.

Sources, strongest first: ``maestro daemon --port N`` (Symphony's CLI flag), ``[operator_http]
listen_address`` in ``maestro.toml``, then ``server.port`` in a Symphony-style ``WORKFLOW.md``
front matter (SPEC §13.7: the ``server`` key belongs to the HTTP extension). A bare port
binds loopback; ``0`` asks for an ephemeral port. A listener off loopback refuses to start
without a token in the variable ``[operator_http] token_env_var`` names.
"""

from __future__ import annotations

import os
from pathlib import Path

from maestro.config.service import ServiceConfig
from maestro.config.workflow import split_front_matter
from maestro.errors import ConfigError, InputError
from maestro.operator.guards import is_loopback

MIN_TOKEN_CHARS = 16


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


def workflow_port(path: Path) -> int | None:
    """``server.port`` of a WORKFLOW.md front matter (either style), or ``None``."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None  # the workflow's own loader names that problem
    _, data, _ = split_front_matter(text, path)
    server = data.get("server")
    if server is None:
        return None
    port = server.get("port") if isinstance(server, dict) else None
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ConfigError(f"{path}: server.port: expected an integer 0-65535, got {port!r}")
    return port


def resolve_listen(config: ServiceConfig, cli_port: int | None = None) -> str | None:
    """The address to listen on, or ``None`` when the server is off."""
    configured = config.operator_http.listen_address
    if cli_port is not None:
        if not 0 <= cli_port <= 65535:
            raise InputError(f"--port: expected 0-65535, got {cli_port}")
        host = parse_listen_address(configured)[0] if configured else "127.0.0.1"
        return f"[{host}]:{cli_port}" if ":" in host else f"{host}:{cli_port}"
    if configured:
        return configured
    port = workflow_port(config.workflow_path)
    return None if port is None else f"127.0.0.1:{port}"


def operator_token(config: ServiceConfig, host: str) -> str | None:
    """The token every request must show, from the environment; required off loopback."""
    name = config.operator_http.token_env_var
    token = os.environ.get(name) or None
    if token is not None and len(token) < MIN_TOKEN_CHARS:
        raise InputError(f"{name}: the operator token must be at least {MIN_TOKEN_CHARS} "
                         "characters")
    if token is None and not is_loopback(host):
        raise InputError(f"operator_http.listen_address {host} is not a loopback address: "
                         f"set a token in ${name} (operator_http.token_env_var) first")
    return token
