"""Benchmark: ``GET /api/v1/state`` with 50 lanes on disk, and the daemon's tick while polled.

The operator server runs in a thread of the daemon's own process (``maestro daemon``), so
each request's Python work competes with the poll tick for the interpreter. This starts
the server as the daemon does (:class:`maestro.operator.http.OperatorServer`, in a thread)
in a child process that also times ``Orchestrator.plan()`` on its main thread, and polls
it from this process over loopback with plain keep-alive HTTP/1.1 connections.

Lanes: one real lane run to the end and one run until it waits for review (the scripted
agent, the local forge), then copied to 50 lane folders (80 % finished, 20 % waiting; each
finished copy sealed as its own last write would have sealed it), plus 500 backlog issues
for the tick to plan over.

    python bench/bench_state_api.py [--lanes 50] [--seconds 5] [--connections 4]
                                    [--baseline REV]

The same connections then fetch ``/static/maestro.css`` (a small file, the same guards):
the server's floor on this machine at this moment, against which the state rate reads.
The tick is timed idle, while polled flat out (every connection back to back) and while
polled at a steady 100 requests/s. The child's CPU time over each window, per request
served, is the cost of a request independent of how busy the machine is (1000 / that
figure: requests/s one free core could serve); the poller's own CPU per request is shown
beside it (the poller is Python too: when its figure is the larger, it sets the rate).

``--baseline REV`` measures the code of commit ``REV`` (its ``maestro/`` package taken with
``git archive``) in the same run, on the same lanes, first. Prints a Markdown table;
asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import ROOT, commit, empty_sandbox, finished_lane, maestro, table, write_issues

TICKS = 15
#: Requests/s of the paced poller (a dashboard with a crowd of viewers, a script's loop).
PACED = 100


# -- the lanes ------------------------------------------------------------------------------


def build_lanes(repo: Path, count: int) -> None:
    """``count`` lane folders copied from two real lanes (finished, waiting for review)."""
    from maestro.lanes.record.lane_read import seal_finished, sealed_read
    from maestro.lanes.record.state import LaneState
    from maestro.trackers.files import FilesTracker

    finished_lane(repo, "BENCH-1")
    FilesTracker(repo / "issues", "BENCH").create("waiting lane", "Add a note.",
                                                  identifier="BENCH-2")
    maestro(repo, "lane", "BENCH-2", "--quiet")
    lanes = repo / ".maestro" / "lanes"
    for number in range(3, count + 1):
        source = lanes / ("BENCH-2" if number % 5 == 0 else "BENCH-1")
        target = lanes / f"BENCH-{number}"
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("lane.lock"))
        claim = json.loads((target / "lease.json").read_text())
        claim.update(issue_id=target.name, title=f"copied lane {number}")
        (target / "lease.json").write_text(json.dumps(claim))
        seal_finished(LaneState(lanes, target.name))  # as its own last write would have
    sealed = sum(sealed_read(LaneState(lanes, path.name)) is not None
                 for path in lanes.iterdir())
    print(f"{sealed} of {count} lanes sealed (BENCH-1, the real one: "
          f"{sealed_read(LaneState(lanes, 'BENCH-1')) is not None})", file=sys.stderr)
    write_issues(repo / "issues", 500)
    time.sleep(2.5)  # let every folder settle, as on a server that has run a while


# -- the child: server thread + tick timer ----------------------------------------------------


def child(repo: Path) -> int:
    """The daemon's arrangement: the server in a thread, ticks on the main thread."""
    import maestro as package
    from maestro.config.service import parse_config_file
    from maestro.operator.http import OperatorServer
    from maestro.orchestration.orchestrator import Orchestrator

    config = parse_config_file(repo / "maestro.toml")
    server = OperatorServer(config, "127.0.0.1:0")
    _, port = server.start()
    orchestrator = Orchestrator(config)
    orchestrator.plan()
    print(json.dumps({"port": port, "package": str(Path(package.__file__).parent)}),
          flush=True)
    for line in sys.stdin:
        words = line.split()
        if words == ["cpu"]:  # the process's CPU seconds so far (the server thread's work)
            print(json.dumps({"cpu_s": time.process_time()}), flush=True)
            continue
        if not words or words[0] != "tick":
            break
        walls, cpus = [], []
        for _ in range(int(words[1])):
            wall, cpu = time.perf_counter(), time.thread_time()
            orchestrator.plan()
            walls.append(time.perf_counter() - wall)
            cpus.append(time.thread_time() - cpu)
        print(json.dumps({"wall_ms": statistics.median(walls) * 1000,
                          "cpu_ms": statistics.median(cpus) * 1000}), flush=True)
    server.stop()
    return 0


# -- the client -------------------------------------------------------------------------------


def _get(sock: socket.socket, request: bytes, buffer: bytearray) -> int:
    """One keep-alive request; returns the status code (body read and dropped)."""
    sock.sendall(request)
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        buffer += chunk
    head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = next(int(line.split(":", 1)[1]) for line in lines
                  if line.lower().startswith("content-length:"))
    body = bytearray(rest)
    while len(body) < length:
        chunk = sock.recv(262144)
        if not chunk:
            raise ConnectionError("server closed the connection")
        body += chunk
    buffer[:] = body[length:]
    return int(lines[0].split()[1])


class Poller:
    """``connections`` threads, each a keep-alive connection sending requests back to back."""

    def __init__(self, port: int, connections: int, path: str = "/api/v1/state",
                 rate: float | None = None) -> None:
        #: Seconds between two requests of one connection (``rate`` requests/s in all).
        self.gap = connections / rate if rate else 0.0
        self.request = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                        f"Accept: */*\r\n\r\n").encode()
        self.port = port
        self.done = 0
        self.failed = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, daemon=True)
                         for _ in range(connections)]

    def _run(self) -> None:
        with socket.create_connection(("127.0.0.1", self.port)) as sock:
            buffer = bytearray()
            due = time.perf_counter()
            while not self._stop.is_set():
                if self.gap:
                    due += self.gap
                    time.sleep(max(0.0, due - time.perf_counter()))
                ok = _get(sock, self.request, buffer) == 200
                with self._lock:
                    self.done += ok
                    self.failed += not ok

    def __enter__(self) -> Poller:
        self.started = time.perf_counter()
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self.elapsed = time.perf_counter() - self.started
        for thread in self._threads:
            thread.join(timeout=30)


def lanes_in_answer(port: int) -> int:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        request = f"GET /api/v1/state HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
        sock.sendall(request)
        data = b""
        while True:
            chunk = sock.recv(262144)
            data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            length = [int(line.split(b":")[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length")]
            if length and len(body) >= length[0]:
                return len(json.loads(body[:length[0]])["lanes"])


def measure(tree: Path, repo: Path, seconds: float, connections: int) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    proc = subprocess.Popen([sys.executable, __file__, "--child", str(repo)], env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            cwd=repo)
    assert proc.stdin is not None and proc.stdout is not None
    try:
        hello = json.loads(proc.stdout.readline())
        port = int(hello["port"])

        def ask(command: str) -> dict[str, float]:
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write(command + "\n")
            proc.stdin.flush()
            return dict(json.loads(proc.stdout.readline()))

        def serve(path: str, window: float) -> tuple[float, float, int, float]:
            """Requests/s, server CPU ms per request, failures and the client's (this
            process's) CPU ms per request of one window."""
            before, client = ask("cpu")["cpu_s"], time.process_time()
            with Poller(port, connections, path) as poller:
                time.sleep(window)
            client = time.process_time() - client
            spent = ask("cpu")["cpu_s"] - before
            done = max(1, poller.done)
            return (poller.done / poller.elapsed, spent * 1000 / done, poller.failed,
                    client * 1000 / done)

        lanes = lanes_in_answer(port)
        idle = ask(f"tick {TICKS}")
        rate, cpu_ms, failed, client_ms = serve("/api/v1/state", seconds)
        floor_rate, floor_cpu_ms, _, _ = serve("/static/maestro.css", seconds / 2)
        with Poller(port, connections):
            time.sleep(0.5)
            polled = ask(f"tick {TICKS}")
        with Poller(port, connections, rate=PACED) as paced:
            time.sleep(0.5)
            polled_paced = ask(f"tick {TICKS}")
        paced_rate = paced.done / (time.perf_counter() - paced.started)
        # The machine's load drifts: the idle figure is the mean of one look before the
        # polled windows and one after them.
        after = ask(f"tick {TICKS}")
        idle = {key: (idle[key] + after[key]) / 2 for key in idle}
        proc.stdin.write("quit\n")
        proc.stdin.flush()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    return {"package": hello["package"], "lanes": lanes, "rate": rate, "cpu_ms": cpu_ms,
            "client_ms": client_ms, "failed": failed, "idle": idle, "polled": polled,
            "floor": floor_rate,
            "paced": polled_paced, "paced_rate": paced_rate,
            "floor_cpu_ms": floor_cpu_ms}


def baseline_tree(rev: str, into: Path) -> Path:
    """The ``maestro/`` package of commit ``rev``, unpacked under ``into``."""
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", rev, "maestro"], cwd=ROOT, check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lanes", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--baseline", metavar="REV")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-state-api-") as tmp:
        repo, _ = empty_sandbox(Path(tmp) / "sandbox")
        build_lanes(repo, args.lanes)
        trees = [("this tree", ROOT)]
        if args.baseline:
            trees.insert(0, (f"`{args.baseline}`",
                             baseline_tree(args.baseline, Path(tmp) / "baseline")))
        for label, tree in trees:
            found = measure(tree, repo, args.seconds, args.connections)
            idle, polled, paced = found["idle"], found["polled"], found["paced"]
            assert isinstance(idle, dict) and isinstance(polled, dict)
            assert isinstance(paced, dict)
            print(f"{label}: {found}", file=sys.stderr)
            rows.append((label, found["lanes"], f"{found['rate']:.0f}", found["failed"],
                         f"{found['cpu_ms']:.2f}", f"{found['client_ms']:.2f}",
                         f"{found['floor']:.0f}",
                         f"{found['floor_cpu_ms']:.2f}",
                         f"{idle['wall_ms']:.0f}",
                         f"{polled['wall_ms']:.0f} ({polled['wall_ms'] / idle['wall_ms']:.2f})",
                         f"{polled['cpu_ms'] / idle['cpu_ms']:.2f}",
                         f"{paced['wall_ms']:.0f} ({paced['wall_ms'] / idle['wall_ms']:.2f}) "
                         f"at {found['paced_rate']:.0f}/s"))
    print(table(f"GET /api/v1/state, {args.connections} keep-alive connections, "
                f"{args.seconds:g} s; tick = Orchestrator.plan() over 500 issues, median of "
                f"{TICKS} ({dt.date.today()}, commit {commit()})",
                ["code", "lanes", "requests/s", "failed", "server CPU ms per request",
                 "client CPU ms per request", "static file requests/s", "its CPU ms per request",
                 "tick ms idle", "tick ms polled flat out (x idle)", "its CPU x idle",
                 f"tick ms polled at {PACED}/s (x idle)"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
