"""Dispatch latency: from an issue becoming ``Todo`` to its agent starting.

A real ``maestro daemon`` polls a sandbox every ``--poll-interval-s``; the benchmark moves a
``Backlog`` issue to ``Todo`` and waits for the agent's first protocol event in the lane's
``activity.json`` (``thread/started``), then for the lane to reach review. Latency is the
poll wait (on average half the interval) plus the lane process's start-up, claim and
worktree creation. Run: python bench/bench_dispatch_latency.py
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import commit, empty_sandbox

from maestro.trackers.files import FilesTracker

POLL_S = 1.0
RUNS = 5


def agent_started(lane: Path) -> bool:
    try:
        activity = json.loads((lane / "activity.json").read_text())
    except (OSError, ValueError):
        return False
    return int(activity.get("event_count") or 0) > 0


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        repo, _ = empty_sandbox(Path(tmp) / "box")
        tracker = FilesTracker(repo / "issues", "LAT")
        for n in range(RUNS):
            tracker.create(f"latency {n}", "Add a note.", state="Backlog", identifier=f"LAT-{n}")
        daemon = subprocess.Popen([sys.executable, "-m", "maestro", "daemon",
                                   "--poll-interval-s", str(POLL_S)], cwd=repo,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        latencies, to_review = [], []
        try:
            time.sleep(POLL_S * 2)
            for n in range(RUNS):
                identifier = f"LAT-{n}"
                lane = repo / ".maestro" / "lanes" / identifier
                started = time.monotonic()
                tracker.transition(identifier, "Todo")
                while not agent_started(lane):
                    if time.monotonic() - started > 60:
                        raise SystemExit(f"{identifier}: the agent never started")
                    time.sleep(0.01)
                latencies.append(time.monotonic() - started)
                while tracker.get(identifier).state != "In Review":
                    if time.monotonic() - started > 120:
                        raise SystemExit(f"{identifier}: never reached review")
                    time.sleep(0.02)
                to_review.append(time.monotonic() - started)
        finally:
            daemon.terminate()
            daemon.wait(timeout=60)
    print(f"### Dispatch latency ({RUNS} issues, poll interval {POLL_S:g} s, "
          f"{time.strftime('%Y-%m-%d')}, commit {commit()})\n")
    print("| from Todo to | median s | min s | max s |")
    print("| --- | --- | --- | --- |")
    for name, values in (("agent's first event", latencies), ("In Review", to_review)):
        print(f"| {name} | {statistics.median(values):.2f} | {min(values):.2f} | "
              f"{max(values):.2f} |")
    print(f"\nThe poll wait alone averages {POLL_S / 2:g} s at this interval.")


if __name__ == "__main__":
    main()
