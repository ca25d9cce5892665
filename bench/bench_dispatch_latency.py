"""Dispatch latency: from an issue becoming eligible, the daemon told, to its agent's first event.

The issue #16 target, measured as it reads: a real ``maestro daemon`` with a long poll
interval (30 s, so polling can never be what finds the issue) and its operator API on a
loopback port; the benchmark moves a ``Backlog`` issue to ``Todo``, then tells the daemon
with ``POST /api/v1/refresh`` (a webhook delivery writes the same refresh request), and
the clock stops at the agent's first protocol event in the lane's ``activity.json``. Each
lane then runs to review before the next issue is moved, so lanes never overlap.

Cold lanes (a fresh interpreter per dispatch) and warm ones (``[dispatch] warm_workers``)
run in one run, one daemon each, turn by turn. With ``--before DIR`` (a source tree of an
older commit, e.g. ``git archive e52a8e1 | tar -x -C DIR``) two more daemons run that code
(``PYTHONPATH=DIR``, inherited by its lanes and agents), so before and after are timed in
the same run on the same machine load. Run: python bench/bench_dispatch_latency.py
[--runs 5] [--before DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import commit, empty_sandbox, wall_times

from maestro.trackers.files import FilesTracker

POLL_S = 30.0
DEFAULT_RUNS = 5
WARM_UP = 1  # lanes per daemon before the measured ones (first-use caches, zygote ready)


@dataclass
class Daemon:
    """One daemon on its own sandbox: which code (``tree``) and which start (warm/cold)."""

    label: str
    tree: Path | None
    warm: bool
    repo: Path = field(init=False)
    tracker: FilesTracker = field(init=False)
    process: subprocess.Popen[str] = field(init=False)
    url: str = field(init=False)
    latencies: list[float] = field(default_factory=list)

    def start(self, root: Path, issues: int) -> None:
        self.repo, _ = empty_sandbox(root)
        with (self.repo / "maestro.toml").open("a") as handle:  # said either way: the
            flag = "true" if self.warm else "false"              # default changed
            handle.write(f"\n[dispatch]\nwarm_workers = {flag}\n")
        self.tracker = FilesTracker(self.repo / "issues", "LAT")
        for n in range(issues):
            self.tracker.create(f"latency {n}", "Add a note.", state="Backlog",
                                identifier=f"LAT-{n}")
        env = dict(os.environ)
        if self.tree is not None:
            env["PYTHONPATH"] = str(self.tree)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "maestro", "daemon", "--poll-interval-s", str(POLL_S),
             "--port", "0"], cwd=self.repo, env=env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert self.process.stdout is not None
        found = re.search(r"(http://\S+?)/?$", self.process.stdout.readline().strip())
        if found is None:
            raise SystemExit(f"{self.label}: the daemon did not report its dashboard")
        self.url = found.group(1)
        wait_for(lambda: (self.repo / ".maestro" / "last_tick.json").exists(), 60,
                 f"{self.label}: no first tick")

    def lane(self, identifier: str) -> Path:
        return self.repo / ".maestro" / "lanes" / identifier

    def run(self, identifier: str) -> float:
        """Move one issue to Todo, tell the daemon, return seconds to the agent's first
        event; then wait until the lane process has left it in review."""
        lane = self.lane(identifier)
        self.tracker.transition(identifier, "Todo")
        started = time.monotonic()
        request = urllib.request.Request(self.url + "/api/v1/refresh", data=b"",
                                         method="POST")
        with urllib.request.urlopen(request, timeout=30) as answer:
            answer.read()
        wait_for(lambda: agent_started(lane), 60, f"{self.label} {identifier}: no agent",
                 step=0.001)
        latency = time.monotonic() - started
        wait_for(lambda: lane_waiting(lane), 180, f"{self.label} {identifier}: no review")
        return latency

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()


def wait_for(done: Callable[[], bool], timeout: float, message: str,
             step: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise SystemExit(message)
        time.sleep(step)


def agent_started(lane: Path) -> bool:
    try:
        activity = json.loads((lane / "activity.json").read_text())
    except (OSError, ValueError):
        return False
    return int(activity.get("event_count") or 0) > 0


def lane_waiting(lane: Path) -> bool:
    """The lane process ended in review (its outcome is ``waiting``)."""
    try:
        return json.loads((lane / "outcome.json").read_text()).get("outcome") == "waiting"
    except (OSError, ValueError):
        return False


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS)
    parser.add_argument("--before", type=Path, default=None,
                        help="source tree of the older commit to time in the same run")
    parser.add_argument("--before-label", default="before")
    args = parser.parse_args()
    daemons = [Daemon("cold", None, False), Daemon("warm", None, True)]
    if args.before is not None:
        before = args.before.resolve()
        daemons = [Daemon(f"{args.before_label} cold", before, False),
                   Daemon(f"{args.before_label} warm", before, True), *daemons]
    issues = WARM_UP + args.runs
    with tempfile.TemporaryDirectory() as tmp:
        try:
            for n, daemon in enumerate(daemons):
                daemon.start(Path(tmp) / f"box{n}", issues)
            time.sleep(5)  # zygotes import; the daemons settle into their 30 s sleep
            for number in range(issues):
                order = daemons if number % 2 == 0 else daemons[::-1]
                for daemon in order:
                    latency = daemon.run(f"LAT-{number}")
                    if number >= WARM_UP:
                        daemon.latencies.append(latency)
        finally:
            for daemon in daemons:
                daemon.stop()
        baseline = statistics.median(wall_times([sys.executable, "-c", "pass"], Path(tmp), 10))
    print(f"### Dispatch latency, told by a refresh request ({args.runs} issues per daemon, "
          f"poll interval {POLL_S:g} s, {time.strftime('%Y-%m-%d')}, commit {commit()})\n")
    print("| daemon | median s | min s | max s |")
    print("| --- | --- | --- | --- |")
    for daemon in daemons:
        values = daemon.latencies
        print(f"| {daemon.label} | {statistics.median(values):.3f} | {min(values):.3f} | "
              f"{max(values):.3f} |")
    print(f"\n`python -c pass` in the same run: {baseline * 1000:.0f} ms; load average "
          f"{os.getloadavg()[0]:.1f}.")


if __name__ == "__main__":
    main()
