"""The inode of one TCP socket, asked of the kernel by its two ends (sock_diag(7)).

:mod:`maestro.operator.peer` needs the inode of the client's end of a connection to the
operator server. Reading ``/proc/net/tcp`` and ``tcp6`` for it makes the kernel walk its
whole established-socket hash table, sized by the machine's memory, not by the sockets in
it: about 10 ms per read on a 24 GiB machine holding five sockets, twice per operator
write (issue #16: a third of a ``POST /api/v1/refresh``). A ``NETLINK_SOCK_DIAG`` request
naming both ends is one hash lookup instead (``inet_diag_find_one_icsk`` in the kernel's
``net/ipv4/inet_diag.c``): tens of microseconds.

The request is ``SOCK_DIAG_BY_FAMILY`` with an ``inet_diag_req_v2`` whose ``id`` holds the
socket's *local* end in ``src``/``sport`` and its *remote* end in ``dst``/``dport``, and
``INET_DIAG_NOCOOKIE`` (the kernel skips the cookie check); the answer is one
``inet_diag_msg`` (``idiag_inode`` at byte 68, 0 for a socket in ``TIME_WAIT``) or an
``NLMSG_ERROR`` carrying ``-ENOENT`` when no socket has those ends. Layouts from
``linux/inet_diag.h``, ``linux/sock_diag.h`` and ``linux/netlink.h``.

Linux only; :func:`socket_inode` raises :class:`OSError` wherever the request cannot be
made or answered as expected, and the caller reads the tables instead.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
import struct
from dataclasses import dataclass

__all__ = ["Found", "parse_answer", "plain", "request", "socket_inode"]

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLM_F_REQUEST = 0x1
NLMSG_ERROR = 0x2
NOCOOKIE = 0xFFFFFFFF
TCP_LISTEN = 10  # linux/tcp_states.h

_HEADER = struct.Struct("=IHHII")  # nlmsghdr: len, type, flags, seq, pid
# inet_diag_req_v2: family, protocol, ext, pad, states, then inet_diag_sockid:
# sport, dport (big-endian), src[16], dst[16], if, cookie[2]
_REQUEST = struct.Struct("=BBBBI")
_SOCKID = struct.Struct("!HH16s16s")
_SOCKID_TAIL = struct.Struct("=III")
_INODE_OFFSET = 68  # in inet_diag_msg: 4 bytes of flags, 48 of sockid, 16 of counters
_ALL_STATES = 0xFFFFFFFF
_TIMEOUT_S = 1.0

IP = ipaddress.IPv4Address | ipaddress.IPv6Address


def _packed(ip: IP) -> bytes:
    """An address as the 16 bytes of ``idiag_src``/``idiag_dst`` (IPv4 in the first 4)."""
    return ip.packed.ljust(16, b"\0")


def request(family: int, local: tuple[IP, int], remote: tuple[IP, int], seq: int) -> bytes:
    """The netlink message asking for the TCP socket with these two ends. Pure."""
    body = (_REQUEST.pack(family, socket.IPPROTO_TCP, 0, 0, _ALL_STATES)
            + _SOCKID.pack(local[1], remote[1], _packed(local[0]), _packed(remote[0]))
            + _SOCKID_TAIL.pack(0, NOCOOKIE, NOCOOKIE))
    return _HEADER.pack(_HEADER.size + len(body), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST, seq,
                        0) + body


@dataclass(frozen=True)
class Found:
    """The socket the kernel answered with: its state (``TCP_*``), its two ends as it
    records them (an IPv4-mapped address read as the IPv4 one) and its inode."""

    state: int
    local: tuple[IP, int]
    remote: tuple[IP, int]
    inode: int


def plain(ip: IP) -> IP:
    """An IPv4-mapped IPv6 address as the IPv4 one (a dual-stack listener sees those)."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _address(family: int, raw: bytes) -> IP:
    return plain(ipaddress.IPv4Address(raw[:4]) if family == socket.AF_INET
                  else ipaddress.IPv6Address(raw))


def parse_answer(data: bytes, seq: int) -> Found | None:
    """The socket in the kernel's answer to request ``seq``; None for ``ENOENT`` (no such
    socket). Raises :class:`OSError` for any other error or an answer of another shape.
    Pure."""
    if len(data) < _HEADER.size:
        raise OSError(errno.EPROTO, "sock_diag: short answer")
    length, kind, _, answer_seq, _ = _HEADER.unpack_from(data)
    if answer_seq != seq or length > len(data):
        raise OSError(errno.EPROTO, "sock_diag: an answer to another request")
    if kind == NLMSG_ERROR:
        (code,) = struct.unpack_from("=i", data, _HEADER.size)
        if -code == errno.ENOENT:
            return None
        raise OSError(-code, f"sock_diag: {os.strerror(-code)}")
    if kind != SOCK_DIAG_BY_FAMILY or length < _HEADER.size + _INODE_OFFSET + 4:
        raise OSError(errno.EPROTO, "sock_diag: unexpected answer")
    family, state = struct.unpack_from("=BB", data, _HEADER.size)
    sport, dport, src, dst = _SOCKID.unpack_from(data, _HEADER.size + 4)
    (inode,) = struct.unpack_from("=I", data, _HEADER.size + _INODE_OFFSET)
    return Found(state, (_address(family, src), sport), (_address(family, dst), dport),
                 int(inode))


def _ask(family: int, local: tuple[IP, int], remote: tuple[IP, int]) -> int | None:
    """The inode of the socket with exactly these ends. The kernel's lookup falls back to a
    listening socket on ``local`` when no connection has both ends; such an answer, or any
    whose ends differ from the ones asked for, is no answer."""
    seq = int.from_bytes(os.urandom(4), "little") or 1
    with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_SOCK_DIAG) as link:
        link.settimeout(_TIMEOUT_S)
        link.sendto(request(family, local, remote, seq), (0, 0))
        found = parse_answer(link.recv(8192), seq)
    if (found is None or found.state == TCP_LISTEN
            or found.local != (plain(local[0]), local[1])
            or found.remote != (plain(remote[0]), remote[1])):
        return None
    return found.inode


def socket_inode(local: tuple[IP, int], remote: tuple[IP, int]) -> int | None:
    """The inode of the TCP socket of this network namespace whose own end is ``local`` and
    whose peer is ``remote`` (0: it is in ``TIME_WAIT``, no process holds it); None when
    there is none. An IPv4 pair finds a dual-stack IPv6 socket connected over IPv4 too (the
    kernel keeps it under its IPv4 ends). Raises :class:`OSError` when the kernel cannot be
    asked (not Linux, no ``sock_diag``, an unexpected answer); a kernel without the TCP
    handler answers ``ENOENT`` as for no socket, which only the caller can tell apart
    (by asking for a socket it knows exists)."""
    if not hasattr(socket, "AF_NETLINK"):
        raise OSError(errno.ENOSYS, "sock_diag: no netlink on this system")
    if local[0].version != remote[0].version:
        raise OSError(errno.EINVAL, "sock_diag: ends of two address families")
    return _ask(socket.AF_INET6 if local[0].version == 6 else socket.AF_INET, local, remote)
