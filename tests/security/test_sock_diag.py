"""The client socket's inode, asked of the kernel by the connection's two ends
(maestro/operator/sock_diag.py), and the socket tables when it cannot be asked."""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
import struct
from collections.abc import Iterator

import pytest

from maestro.operator import peer, sock_diag


def _ends(host: str, port: int) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int]:
    return ipaddress.ip_address(host), port


def _netlink_works() -> bool:
    try:
        sock_diag.socket_inode(_ends("127.0.0.1", 1), _ends("127.0.0.1", 2))
    except OSError:
        return False
    return True


needs_sock_diag = pytest.mark.skipif(not _netlink_works(),
                                     reason="no NETLINK_SOCK_DIAG here (not Linux?)")


@pytest.fixture(params=["127.0.0.1", "::1"])
def connection(request: pytest.FixtureRequest) -> Iterator[tuple[socket.socket, socket.socket]]:
    """A client socket and the server's accepted one, over loopback."""
    family = socket.AF_INET6 if ":" in request.param else socket.AF_INET
    try:
        listener = socket.create_server((request.param, 0), family=family)
    except OSError:
        pytest.skip(f"no {request.param} loopback here")
    with listener:
        client = socket.create_connection(listener.getsockname()[:2])
        accepted, _ = listener.accept()
        with client, accepted:
            yield client, accepted


@needs_sock_diag
def test_the_kernel_names_the_client_sockets_inode_by_its_two_ends(
        connection: tuple[socket.socket, socket.socket]) -> None:
    client, _ = connection
    local, remote = client.getsockname()[:2], client.getpeername()[:2]
    assert sock_diag.socket_inode(_ends(*local), _ends(*remote)) == os.fstat(
        client.fileno()).st_ino


@needs_sock_diag
def test_ends_no_connection_has_are_none_even_where_a_listener_is() -> None:
    """The kernel's lookup falls back to a listening socket on the asked-for local end:
    that socket is not the client's."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        assert sock_diag.socket_inode(_ends("127.0.0.1", port),
                                      _ends("127.0.0.1", 9)) is None


@needs_sock_diag
def test_a_client_that_let_go_of_its_socket_reads_inode_zero() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname())
        accepted, _ = listener.accept()
        local, remote = client.getsockname(), client.getpeername()
        client.close()  # its end lingers (FIN_WAIT, TIME_WAIT) with no process holding it
        accepted.close()
        assert sock_diag.socket_inode(_ends(*local), _ends(*remote)) == 0


@needs_sock_diag
def test_the_peer_look_agrees_with_the_socket_tables(
        connection: tuple[socket.socket, socket.socket]) -> None:
    _, accepted = connection
    seen_from_server = accepted.getpeername()[:2], accepted.getsockname()[:2]
    rows = peer._rows()
    assert rows is not None
    assert peer.current_inode(*seen_from_server) == peer.client_inode(rows, *seen_from_server)


def test_without_sock_diag_the_peer_is_found_in_the_tables(
        connection: tuple[socket.socket, socket.socket],
        monkeypatch: pytest.MonkeyPatch) -> None:
    def unavailable(*_: object) -> int | None:
        raise OSError(errno.EPROTONOSUPPORT, "no sock_diag")

    monkeypatch.setattr(sock_diag, "socket_inode", unavailable)
    client, accepted = connection
    found = peer.identify(accepted.getpeername()[:2], accepted.getsockname()[:2])
    assert (found.kind, found.inode) == ("process", os.fstat(client.fileno()).st_ino)
    assert os.getpid() in found.pids


def test_a_kernel_without_the_tcp_handler_is_read_from_the_tables(
        connection: tuple[socket.socket, socket.socket],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Breaker 16, F3: without ``tcp_diag`` the kernel answers ENOENT for every socket, as
    for one that does not exist; the server's own end tells the two apart."""
    monkeypatch.setattr(sock_diag, "socket_inode", lambda *_: None)
    client, accepted = connection
    found = peer.identify(accepted.getpeername()[:2], accepted.getsockname()[:2])
    assert (found.kind, found.inode) == ("process", os.fstat(client.fileno()).st_ino)


def _answer(kind: int, seq: int, body: bytes) -> bytes:
    return struct.pack("=IHHII", 16 + len(body), kind, 0, seq, 0) + body


def test_an_answer_reads_as_the_sockets_state_ends_and_inode() -> None:
    message = (struct.pack("=BBBB", socket.AF_INET, 1, 0, 0)
               + struct.pack("!HH16s16s", 41652, 8080, bytes([127, 0, 0, 1]) + bytes(12),
                             bytes([127, 0, 0, 2]) + bytes(12))
               + bytes(12 + 16) + struct.pack("=I", 4242))
    found = sock_diag.parse_answer(_answer(sock_diag.SOCK_DIAG_BY_FAMILY, 7, message), 7)
    assert found == sock_diag.Found(1, _ends("127.0.0.1", 41652), _ends("127.0.0.2", 8080),
                                    4242)


def test_no_such_socket_reads_as_none() -> None:
    answer = _answer(sock_diag.NLMSG_ERROR, 7, struct.pack("=i", -errno.ENOENT) + bytes(16))
    assert sock_diag.parse_answer(answer, 7) is None


@pytest.mark.parametrize("answer", [
    _answer(sock_diag.NLMSG_ERROR, 7, struct.pack("=i", -errno.EPERM) + bytes(16)),
    _answer(sock_diag.SOCK_DIAG_BY_FAMILY, 8, bytes(72)),  # another request's
    _answer(sock_diag.SOCK_DIAG_BY_FAMILY, 7, bytes(20)),  # too short for an inode
    b"\0" * 8,
])
def test_an_answer_of_another_kind_is_an_error(answer: bytes) -> None:
    with pytest.raises(OSError):
        sock_diag.parse_answer(answer, 7)


def test_a_request_names_the_sockets_own_end_first() -> None:
    message = sock_diag.request(socket.AF_INET, _ends("127.0.0.1", 8080),
                                _ends("127.0.0.2", 80), 5)
    length, kind, flags, seq, _ = struct.unpack_from("=IHHII", message)
    family, protocol = struct.unpack_from("=BB", message, 16)
    sport, dport, src, dst = struct.unpack_from("!HH16s16s", message, 24)
    assert (length, kind, flags, seq) == (len(message), sock_diag.SOCK_DIAG_BY_FAMILY,
                                          sock_diag.NLM_F_REQUEST, 5)
    assert (family, protocol, sport, dport) == (socket.AF_INET, socket.IPPROTO_TCP, 8080, 80)
    assert (src[:4], dst[:4]) == (bytes([127, 0, 0, 1]), bytes([127, 0, 0, 2]))
