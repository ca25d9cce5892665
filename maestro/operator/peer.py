"""Which local process is at the other end of a TCP connection to the operator server.

A connection from this machine shows up twice in the kernel's socket tables
(``/proc/net/tcp`` and ``tcp6``, of the network namespace this process is in): the server's
accepted socket, and the client's own socket, whose *local* address is the client address
the server sees and whose *remote* address is the server's. That row carries the client
socket's inode; the processes holding it have a ``socket:[INODE]`` link among their
``/proc/<pid>/fd`` entries. So :func:`identify` answers, for ``(client, server)``:

* ``remote``: no such row, the client is on another machine (or network namespace);
* ``closed``: the row's inode is 0, the client let go of its socket before the answer;
* ``hidden``: nobody this process can inspect holds it (another user's process, or one that
  made itself non-dumpable, as ``sshd`` does for a tunnel, while this one has no
  ``CAP_SYS_PTRACE`` over it);
* ``process``: these pids hold it;
* ``unknown``: the tables cannot be read.

The client socket's inode is asked of the kernel by the connection's two ends
(:mod:`maestro.operator.sock_diag`); the tables are read only where that request cannot be
made. Linux only; elsewhere every peer is ``unknown``. A look costs that lookup and a scan
of every process's descriptors: the operator server does it for writes only.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import sys
from dataclasses import dataclass
from typing import Literal

from maestro.operator import sock_diag

__all__ = ["Peer", "TcpRow", "current_inode", "identify", "parse_table",
           "socket_holders", "thread_holds"]

Address = tuple[str, int]
IP = ipaddress.IPv4Address | ipaddress.IPv6Address
PeerKind = Literal["remote", "closed", "hidden", "process", "unknown"]


@dataclass(frozen=True)
class TcpRow:
    """One socket of ``/proc/net/tcp{,6}``: its two ends and its inode (0: no owner)."""

    local: tuple[IP, int]
    remote: tuple[IP, int]
    inode: int


@dataclass(frozen=True)
class Peer:
    """Who is at the other end: see the module's docstring for ``kind``."""

    kind: PeerKind
    pids: tuple[int, ...] = ()
    inode: int = 0


def _address(text: str) -> tuple[IP, int]:
    """``0100007F:1F90`` (IPv4) or 32 hex digits and a port (IPv6): each 32-bit word of
    the address is printed in the machine's byte order, the port as a number."""
    host, _, port = text.partition(":")
    raw = bytes.fromhex(host)
    if sys.byteorder == "little":
        raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    ip: IP = (ipaddress.IPv4Address(raw) if len(raw) == 4 else ipaddress.IPv6Address(raw))
    return sock_diag.plain(ip), int(port, 16)


def parse_table(text: str) -> list[TcpRow]:
    """The rows of one ``/proc/net/tcp`` or ``tcp6`` text (its heading line skipped; a
    malformed line too)."""
    rows = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10:
            continue
        try:
            rows.append(TcpRow(_address(fields[1]), _address(fields[2]), int(fields[9])))
        except ValueError:
            continue
    return rows


def _rows() -> list[TcpRow] | None:
    """Every TCP socket of this network namespace; None when neither table can be read."""
    rows: list[TcpRow] = []
    readable = False
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name, encoding="ascii") as handle:
                rows += parse_table(handle.read())
            readable = True
        except OSError:
            continue
    return rows if readable else None


def client_inode(rows: list[TcpRow], client: Address, server: Address) -> int | None:
    """The inode of the client's socket of the connection ``client`` -> ``server``; None
    when the client's end is not in ``rows`` (it is not on this machine)."""
    want_local = (sock_diag.plain(ipaddress.ip_address(client[0])), client[1])
    want_remote = (sock_diag.plain(ipaddress.ip_address(server[0])), server[1])
    for row in rows:
        if row.local == want_local and row.remote == want_remote:
            return row.inode
    return None


def thread_holds(pid: int, inode: int) -> bool | None:
    """Whether a thread of ``pid`` has a descriptor on socket ``inode``, looking at every
    thread's own table (``/proc/<pid>/task/<tid>/fd``: a thread that called
    ``unshare(CLONE_FILES)`` holds descriptors ``/proc/<pid>/fd`` does not list). None when
    they cannot be listed (another user's process, or a non-dumpable one); False when it is
    gone."""
    target = f"socket:[{inode}]"
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return False
    for task in tasks:
        folder = f"/proc/{pid}/task/{task}/fd"
        try:
            names = os.listdir(folder)
        except PermissionError:
            return None
        except OSError:
            continue  # this thread ended
        for name in names:
            with contextlib.suppress(OSError):
                if os.readlink(f"{folder}/{name}") == target:
                    return True
    return False


def current_inode(client: Address, server: Address) -> int | None:
    """The client socket's inode now (see :func:`client_inode`); None also when neither the
    kernel nor the tables can be asked."""
    try:
        return _inode(client, server)
    except _Unreadable:
        return None


class _Unreadable(Exception):
    """Neither ``sock_diag`` nor the socket tables could be read."""


def _inode(client: Address, server: Address) -> int | None:
    """The client socket's inode: asked of the kernel by the connection's two ends
    (:mod:`maestro.operator.sock_diag`, one hash lookup), else found in the tables (a walk
    of the kernel's whole socket hash). Raises :class:`ValueError` for an address that is
    not an IP address, :class:`_Unreadable` when neither can be read."""
    local = (sock_diag.plain(ipaddress.ip_address(client[0])), client[1])
    remote = (sock_diag.plain(ipaddress.ip_address(server[0])), server[1])
    try:
        found = sock_diag.socket_inode(local, remote)
        # A kernel without the TCP diag handler (tcp_diag a module it cannot load) answers
        # as for no such socket: the server's own end, which exists while its request is
        # handled, tells the two apart (breaker 16, F3).
        if found is not None or sock_diag.socket_inode(remote, local) is not None:
            return found
    except OSError:
        pass
    rows = _rows()
    if rows is None:
        raise _Unreadable
    return client_inode(rows, client, server)


def socket_holders(inode: int) -> tuple[int, ...]:
    """The pids with a descriptor on socket ``inode`` that this process may inspect."""
    target = f"socket:[{inode}]"
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        folder = f"/proc/{entry}/fd"
        try:
            names = os.listdir(folder)
        except OSError:
            continue  # gone, another user's, or non-dumpable
        for name in names:
            try:
                if os.readlink(f"{folder}/{name}") == target:
                    found.append(int(entry))
                    break
            except OSError:
                continue
    return tuple(found)


def identify(client: Address, server: Address) -> Peer:
    """Who holds the client end of ``client`` -> ``server`` (``(host, port)`` pairs as the
    server sees them)."""
    if not os.path.isdir("/proc/self/fd"):
        return Peer("unknown")
    try:
        inode = _inode(client, server)
    except (ValueError, _Unreadable):  # not an IP address (a unix socket's path)
        return Peer("unknown")
    if inode is None:
        return Peer("remote")
    if inode == 0:
        return Peer("closed")
    holders = socket_holders(inode)
    return Peer("process", holders, inode) if holders else Peer("hidden", (), inode)
