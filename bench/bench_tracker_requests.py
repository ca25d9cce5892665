"""Requests and CPU per poll tick for the Linear and GitHub Issues trackers.

A tick is what the orchestrator asks of a tracker: refresh every active lane's issue
(``fetch``) and list new work (``candidates`` for the startable states). Each tracker runs
against its loopback fake (a real HTTP server on 127.0.0.1 executing the published schema)
with a project of 2 000 issues and 1, 50 or 200 active lanes. The point to read off the
table: the number of requests does not grow with the number of lanes.

    python bench/bench_tracker_requests.py [--issues 2000] [--ticks 7]

CPU is the calling thread's CPU time (``time.thread_time``), so the fake server's work in
its own threads is not counted. Prints a table; asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from fakes.github_server import TOKEN, GitHubWorld, github_server  # noqa: E402
from fakes.linear_server import API_KEY, IssueRec, LinearWorld, linear_server  # noqa: E402
from fakes.loopback import LoopbackServer  # noqa: E402
from fakes.schemas import load_schema, missing_reason  # noqa: E402

from maestro.trackers.github import GitHubIssuesTracker  # noqa: E402
from maestro.trackers.http import Secret, client_for  # noqa: E402
from maestro.trackers.linear import LinearTracker  # noqa: E402

LANES = (1, 50, 200)
STATE_LABELS = {"Todo": "status:todo", "In Progress": "status:in-progress",
                "In Review": "status:in-review"}


@dataclass
class Row:
    provider: str
    lanes: int
    requests: list[int]
    cpu_ms: list[float]
    wall_ms: list[float]


def linear_setup(issues: int) -> tuple[AbstractContextManager[LoopbackServer],
                                       Callable[[str], LinearTracker], str]:
    world = LinearWorld(project_slug="bench")
    todo: list[IssueRec] = []
    for n in range(issues):
        state = "In Progress" if n < max(LANES) else ("Todo" if n % 7 == 0 else
                                                      ("Done" if n % 3 else "Backlog"))
        rec = world.add_issue(f"task {n}", state, priority=n % 5)
        if state == "Todo":
            todo.append(rec)
    for blocked in todo[::10]:
        world.block(world.add_issue("blocker", "Done", priority=1), blocked)

    def make(url: str) -> LinearTracker:
        return LinearTracker(client_for("linear", url, Secret(API_KEY), "", 30, 3, 60), "bench")

    return linear_server(world), make, "ENG"


def github_setup(issues: int) -> tuple[AbstractContextManager[LoopbackServer],
                                       Callable[[str], GitHubIssuesTracker], str]:
    world = GitHubWorld("acme/bench")
    for label in STATE_LABELS.values():
        world.add_label(label)
    for n in range(issues):
        if n < max(LANES):
            world.add_issue(f"task {n}", labels=["status:in-progress"])
        elif n % 7 == 0:
            body = f"Blocked by #{n - 1}" if n % 70 == 0 else ""
            world.add_issue(f"task {n}", labels=["status:todo"], body=body)
        elif n % 3:
            world.add_issue(f"task {n}", state="CLOSED", state_reason="COMPLETED")
        else:
            world.add_issue(f"task {n}")
    for n in range(issues // 10):
        world.add_pull_request(f"pr {n}", labels=["status:todo"])

    def make(url: str) -> GitHubIssuesTracker:
        client = client_for("github", url, Secret(TOKEN), "bearer", 30, 3, 60)
        return GitHubIssuesTracker(client, "acme/bench", issue_prefix="GH",
                                   state_labels=STATE_LABELS)

    return github_server(world), make, "GH"


def measure(provider: str, issues: int, ticks: int) -> Iterator[Row]:
    setup = linear_setup if provider == "linear" else github_setup
    server_cm, make, prefix = setup(issues)
    with server_cm as server:
        for lanes in LANES:
            tracker = make(server.url)
            active = [f"{prefix}-{n}" for n in range(1, lanes + 1)]
            row = Row(provider, lanes, [], [], [])
            for _ in range(ticks):
                before = tracker.requests
                cpu, wall = time.thread_time(), time.perf_counter()
                refreshed = tracker.fetch(active)
                tracker.candidates(["Todo"])
                row.cpu_ms.append((time.thread_time() - cpu) * 1000)
                row.wall_ms.append((time.perf_counter() - wall) * 1000)
                row.requests.append(tracker.requests - before)
                if len(refreshed) != lanes:
                    raise SystemExit(f"{provider}: refreshed {len(refreshed)} of {lanes} lanes")
            tracker.close()
            yield row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=2000)
    parser.add_argument("--ticks", type=int, default=7)
    args = parser.parse_args()
    print(f"tracker requests and CPU per tick: {args.issues} issues, {args.ticks} ticks each, "
          "loopback fakes executing the published schemas\n")
    header = (f"{'provider':<9}{'lanes':>6}{'req/tick':>10}{'x 1 lane':>10}"
              f"{'client CPU ms (median)':>24}{'CPU ms/lane':>13}{'wall ms (median)':>18}")
    print(header)
    print("-" * len(header))
    for provider in ("linear", "github"):
        reason = missing_reason(provider)
        if reason:
            print(f"{provider:<9}skipped: {reason}")
            continue
        load_schema(provider)
        baseline: float | None = None
        for row in measure(provider, args.issues, args.ticks):
            requests = statistics.median(row.requests)
            baseline = baseline or requests
            cpu = statistics.median(row.cpu_ms)
            print(f"{row.provider:<9}{row.lanes:>6}{requests:>10g}{requests / baseline:>10.2f}"
                  f"{cpu:>24.1f}{cpu / row.lanes:>13.2f}{statistics.median(row.wall_ms):>18.1f}")
    print("\nreq/tick = fetch(active lanes) + candidates(['Todo']); 'x 1 lane' is the ratio "
          "to the one-lane tick.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
