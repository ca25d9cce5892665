"""A warning when the operator HTTP surface listens beyond this machine.

``listen_address = "0.0.0.0:8900"`` is the first thing people type to see the dashboard
from another machine, and it shows every lane, issue title and PR to anyone who can reach
the port. The server keeps its own guards (Host and Origin checks); this only makes the
choice visible when the daemon starts, in one line naming the key.
"""

from __future__ import annotations

import ipaddress

__all__ = ["exposure_warning"]

_EVERYWHERE = {"0.0.0.0", "::", ""}


def exposure_warning(listen_address: str | None) -> str | None:
    """The warning for ``[operator_http] listen_address`` (``host:port``), or None when it
    is off or binds a loopback address."""
    if not listen_address:
        return None
    host, sep, _ = listen_address.rpartition(":")
    host = host.strip("[]") if sep else "127.0.0.1"
    if host in _EVERYWHERE:
        return (f"operator_http.listen_address = {listen_address!r} listens on every network "
                "interface: anyone who can reach this port sees every lane; bind "
                "127.0.0.1 and use an SSH tunnel or a reverse proxy with authentication")
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if loopback:
        return None
    return (f"operator_http.listen_address = {listen_address!r} is not a loopback address: "
            "anyone who can reach it sees every lane")
