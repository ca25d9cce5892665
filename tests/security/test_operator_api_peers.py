"""No agent drives the operator API: a write from a process a lane started is refused (403),
journaled as refused, and has no effect; the operator's own programs still act.

The server runs in this process on a loopback port; the clients are real processes, started
the way a lane starts its agent (under maestro's supervisor, and under bubblewrap) or the
way a person runs ``curl``."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from maestro.config.service import ServiceConfig
from maestro.containment import lineage, reaper
from maestro.operator.http import OperatorServer
from maestro.operator.peer import Peer, parse_table
from maestro.operator.peer_guard import Sender, examine, refusal_reason
from maestro.orchestration.pause import read_pause
from tests.conftest import Sandbox

pytestmark = pytest.mark.skipif(not lineage.supported(), reason="reads /proc (Linux only)")
needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None,
                                 reason="bubblewrap is not installed (apt-get install bubblewrap)")

#: ``python -c CLIENT URL [HEADER=VALUE...]``: one POST, prints ``STATUS BODY``.
CLIENT = """
import sys, urllib.error, urllib.request
headers = dict(arg.split("=", 1) for arg in sys.argv[2:])
request = urllib.request.Request(sys.argv[1], method="POST", data=b"", headers=headers)
try:
    with urllib.request.urlopen(request, timeout=60) as answer:
        print(answer.status, answer.read().decode())
except urllib.error.HTTPError as error:
    print(error.code, error.read().decode())
"""


@pytest.fixture
def config(tmp_path: Path) -> ServiceConfig:
    config = ServiceConfig().resolved(tmp_path)
    (config.lanes_root / "VICTIM-1").mkdir(parents=True)
    (config.lanes_root / "AGENT-2").mkdir(parents=True)
    return config


@pytest.fixture
def server(config: ServiceConfig, monkeypatch: pytest.MonkeyPatch) -> Iterator[OperatorServer]:
    monkeypatch.delenv("MAESTRO_OPERATOR_TOKEN", raising=False)
    server = OperatorServer(config, "127.0.0.1:0")
    server.start()
    yield server
    server.stop()


def post(url: str, *, supervised: bool, issue: str = "AGENT-2",
         headers: dict[str, str] | None = None, client: str = CLIENT) -> tuple[int, str]:
    """POST ``url`` from a new process, under a lane's supervisor or as a person would."""
    argv = [sys.executable, "-c", client, url,
            *(f"{name}={value}" for name, value in (headers or {}).items())]
    env = {"PATH": os.environ.get("PATH", os.defpath), "MAESTRO_ISSUE": issue}
    done = subprocess.run(reaper.wrap(argv, env) if supervised else argv, env=env,
                          capture_output=True, text=True, timeout=120, check=True)
    status, _, body = done.stdout.strip().partition(" ")
    return int(status), body


#: ``python -c THREAD_CLIENT URL``: one POST from a thread with a descriptor table of its own
#: (``unshare(CLONE_FILES)``), which ``/proc/<pid>/fd`` does not show; prints ``STATUS``.
THREAD_CLIENT = """
import ctypes, socket, sys, threading, urllib.parse
url, said = urllib.parse.urlsplit(sys.argv[1]), []
def send():
    assert ctypes.CDLL(None, use_errno=True).unshare(0x400) == 0  # CLONE_FILES
    with socket.create_connection((url.hostname, url.port)) as conn:
        conn.sendall(f"POST {url.path} HTTP/1.1\\r\\nHost: {url.netloc}\\r\\n"
                     "Content-Length: 0\\r\\nConnection: close\\r\\n\\r\\n".encode())
        said.append(conn.makefile("rb").readline().split()[1].decode())
thread = threading.Thread(target=send)
thread.start()
thread.join()
print(said[0])
"""

#: ``python -c IN_FLIGHT_CLIENT URL``: one POST whose socket, while maestro looks, is held
#: by no process: its descriptor sits in a unix socket message (SCM_RIGHTS) and the sender
#: closed its own; taken back to read the answer. Prints ``STATUS BODY``.
IN_FLIGHT_CLIENT = """
import array, socket, sys, time, urllib.parse
url = urllib.parse.urlsplit(sys.argv[1])
parked, taker = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
conn = socket.create_connection((url.hostname, url.port))
conn.sendall(f"POST {url.path} HTTP/1.1\\r\\nHost: {url.netloc}\\r\\n"
             "Content-Length: 0\\r\\nConnection: close\\r\\n\\r\\n".encode())
parked.sendmsg([b"x"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                         array.array("i", [conn.fileno()]))])
conn.close()
time.sleep(1.0)
_, ancillary, _, _ = taker.recvmsg(1, socket.CMSG_SPACE(4))
fd = array.array("i", ancillary[0][2][:4])[0]
answer = socket.socket(fileno=fd).makefile("rb").read().decode()
status = answer.split()[1]
print(status, answer.partition("\\r\\n\\r\\n")[2])
"""


def journal(config: ServiceConfig, issue: str) -> list[dict[str, object]]:
    path = config.lanes_root / issue / "journal.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_an_agents_pause_is_refused_and_dispatch_goes_on(
        server: OperatorServer, config: ServiceConfig) -> None:
    status, body = post(f"{server.url}/api/v1/pause", supervised=True)
    assert status == 403
    assert "a process a lane started" in body and "working on AGENT-2" in body
    assert read_pause(config.state_root) is None


def test_an_agents_cancel_of_another_issue_is_journaled_as_refused_in_both_lanes(
        server: OperatorServer, config: ServiceConfig) -> None:
    status, _ = post(f"{server.url}/api/v1/VICTIM-1/cancel", supervised=True)
    assert status == 403
    for lane in ("VICTIM-1", "AGENT-2"):
        events = [entry["event"] for entry in journal(config, lane)]
        assert events == ["operator_refused"], lane
    assert not any(entry["event"] == "operator_cancel" for entry in journal(config, "VICTIM-1"))
    log = (config.state_root / "logs" / "maestro.jsonl").read_text()
    assert '"operator_refused"' in log and '"operator_cancel"' not in log


def test_an_agent_that_parks_its_socket_in_a_message_is_refused(
        server: OperatorServer, config: ServiceConfig) -> None:
    """Breaker 16, F1: no process holds a descriptor in flight, so the sender is unknown."""
    status, body = post(f"{server.url}/api/v1/pause", supervised=True,
                        client=IN_FLIGHT_CLIENT)
    assert status == 403, body
    assert read_pause(config.state_root) is None


def test_a_forwarded_for_header_does_not_change_whose_socket_is_examined(
        config: ServiceConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    """Breaker 16, F2: the guard looks at the TCP peer, whatever a local client claims; a
    lane's process holding the token is still refused."""
    monkeypatch.setenv("MAESTRO_OPERATOR_TOKEN", "0123456789abcdef0123")
    server = OperatorServer(config, "127.0.0.1:0")
    server.start()
    try:
        status, _ = post(f"{server.url}/api/v1/pause", supervised=True, headers={
            "X-Forwarded-For": "10.9.9.9",
            "Authorization": "Bearer 0123456789abcdef0123"})
    finally:
        server.stop()
    assert status == 403
    assert read_pause(config.state_root) is None


def test_a_persons_own_client_still_pauses(server: OperatorServer,
                                           config: ServiceConfig) -> None:
    status, body = post(f"{server.url}/api/v1/pause", supervised=False)
    assert (status, json.loads(body)["ok"]) == (200, True)
    assert read_pause(config.state_root) is not None


def test_an_agent_sending_from_a_thread_with_its_own_descriptor_table_is_refused(
        server: OperatorServer, config: ServiceConfig) -> None:
    argv = [sys.executable, "-c", THREAD_CLIENT, f"{server.url}/api/v1/pause"]
    env = {"PATH": os.environ.get("PATH", os.defpath), "MAESTRO_ISSUE": "AGENT-2"}
    done = subprocess.run(reaper.wrap(argv, env), env=env, capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.strip() == "403"
    assert read_pause(config.state_root) is None

@contextlib.contextmanager
def supervised_sleeper() -> Iterator[tuple[int, int]]:
    """``(supervisor pid, its child's pid)``: a program run as a lane runs its agent."""
    argv = [sys.executable, "-c", "import time; time.sleep(60)"]
    supervisor = subprocess.Popen(reaper.wrap(argv))
    try:
        child = 0
        for _ in range(1000):  # the supervisor forks its child at once
            child = next((pid for pid in reaper.descendants(supervisor.pid)), 0)
            if child and lineage.command_line(child)[1:2] == ["-c"]:
                break
        yield supervisor.pid, child
    finally:
        reaper.kill_tree(supervisor.pid)
        supervisor.wait()


def test_a_supervised_child_runs_in_containment_its_own_process_does_not() -> None:
    with supervised_sleeper() as (supervisor, child):
        assert lineage.supervisors_beyond(child) == [supervisor]
        assert lineage.contained_processes()[child] == [supervisor]
        assert os.getpid() not in lineage.contained_processes()
        # Inside one supervised command (a test suite run as validation), peers are equals.
        assert lineage.supervisors_beyond(child, reference=child) == []
        assert lineage.supervisors_beyond(os.getpid()) == []


def test_a_process_that_ended_has_no_known_supervisors() -> None:
    """The holder of a client's socket that ends before its ancestry is read is not taken
    for a process no lane started (its walk would stop at itself)."""
    ended = subprocess.Popen([sys.executable, "-c", ""])
    ended.wait()
    assert lineage.supervisors_beyond(ended.pid) is None
    assert lineage.supervisors_beyond(os.getpid()) == []


def test_a_process_whose_parent_ended_during_the_scan_is_still_found_in_containment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The scan read the child's parent, which then ended before its own line was read:
    the child now belongs to the supervisor (a subreaper), and is found under it."""
    with supervised_sleeper() as (supervisor, child):
        scan = lineage.processes()
        ended = max(scan) + 100_000  # a parent no longer in /proc when its line was read
        monkeypatch.setattr(lineage, "processes", lambda: {**scan, child: ended})
        assert lineage.contained_processes()[child] == [supervisor]


LANE = {9: [3]}  # pid 9 runs under a lane's supervisor, pid 3


@pytest.mark.parametrize(("sender", "loopback", "token", "refused"), [
    (Sender(Peer("process", (7,)), {7: []}), True, False, None),
    (Sender(Peer("process", (7, 9)), {7: [], **LANE}), True, True, "a process a lane started"),
    # an ssh tunnel's sshd, another user's process, or a descriptor in flight: only the token
    (Sender(Peer("hidden"), {}), True, False, "no process maestro can inspect holds"),
    (Sender(Peer("hidden"), {}), True, True, None),
    (Sender(Peer("hidden"), {}, LANE), True, False, "cannot rule out"),
    (Sender(Peer("hidden"), {}, LANE), True, True, None),
    (Sender(Peer("closed"), {}), True, False, "let go of its connection"),
    (Sender(Peer("closed"), {}), True, True, None),
    (Sender(Peer("unknown"), {}), True, False, "cannot read"),
    (Sender(Peer("remote"), {}), False, True, None),
    (Sender(Peer("process", (7,)), {7: None}), True, False, "ended while maestro looked"),
    (Sender(Peer("process", (7,)), {7: None}), True, True, None),
    (Sender(Peer("remote"), {}), True, False, "no longer in this machine's tables"),
])
def test_who_may_write(sender: Sender, loopback: bool, token: bool,
                       refused: str | None) -> None:
    reason = refusal_reason(sender, loopback=loopback, token=token)
    assert (reason is None) if refused is None else (refused in str(reason))


def test_a_loopback_client_that_reset_its_connection_before_the_look_is_refused() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname())
        accepted, _ = listener.accept()
        with accepted:
            here = client.getsockname()[:2]
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            client.close()  # a reset: the client's row leaves the table at once
            sender = examine(here, accepted.getsockname()[:2])
    reason = refusal_reason(sender, loopback=True, token=False)
    assert "no longer in this machine's tables" in str(reason)

@needs_bwrap
def test_a_bubblewrapped_agent_cannot_cancel_another_issue_or_pause(
        sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The breaker's attack (FINDINGS 1), through a whole lane under the sandbox."""
    monkeypatch.delenv("MAESTRO_OPERATOR_TOKEN", raising=False)
    sandbox.set_agent(sandbox="bubblewrap")
    sandbox.add_issue("DEMO-1")
    server = OperatorServer(sandbox.config, "127.0.0.1:0")
    server.start()
    said = tmp_path / "said"
    client = tmp_path / "client.py"
    client.write_text(CLIENT)
    try:
        sandbox.add_issue("DEMO-2", script=f"""
            steps:
              - run: "python3 {client} {server.url}/api/v1/DEMO-1/cancel > {said}.cancel; python3 {client} {server.url}/api/v1/pause > {said}.pause"
              - handoff: done
            """)  # noqa: E501
        sandbox.lane("DEMO-2")
    finally:
        server.stop()
    assert Path(f"{said}.cancel").read_text().startswith("403 ")
    assert Path(f"{said}.pause").read_text().startswith("403 ")
    assert sandbox.issue("DEMO-1").state == "Todo"
    assert read_pause(sandbox.config.state_root) is None


HEAD = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"  # noqa: E501


@pytest.mark.skipif(sys.byteorder != "little", reason="the sample rows are a little-endian "
                    "kernel's")
@pytest.mark.parametrize(("line", "local", "remote", "inode"), [
    ("0: 0100007F:1F90 0100007F:A2B4 01 00000000:00000000 00:00000000 00000000 0 0 4242 1",
     ("127.0.0.1", 8080), ("127.0.0.1", 41652), 4242),
    ("0: 00000000000000000000000001000000:1F90 00000000000000000000000001000000:0050 06 "
     "00000000:00000000 03:00000000 00000000 0 0 0 3", ("::1", 8080), ("::1", 80), 0),
    ("0: 0000000000000000FFFF00000100007F:1F90 0000000000000000FFFF00000100007F:0050 01 "
     "00000000:00000000 00:00000000 00000000 0 0 7 1", ("127.0.0.1", 8080), ("127.0.0.1", 80),
     7),  # an IPv4-mapped address reads as the IPv4 one
])
def test_a_socket_table_row_reads_as_its_two_ends_and_inode(
        line: str, local: tuple[str, int], remote: tuple[str, int], inode: int) -> None:
    [row] = parse_table(HEAD + line + "\n" + "garbage line\n")
    assert ((str(row.local[0]), row.local[1]), (str(row.remote[0]), row.remote[1]),
            row.inode) == (local, remote, inode)
