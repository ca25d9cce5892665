"""Benchmark: one poll tick's planning over 2 000 issues with the files tracker.

``Orchestrator.plan()`` is what every tick of ``maestro run`` and ``maestro daemon`` does
before dispatching: re-read WORKFLOW.md, refresh the lanes' issues, list the startable
ones, order them and apply the limits. The files tracker reads every issue file, so this
is the embedded default's cost per tick. Measured in process, after one warm-up.

    python bench/bench_tick.py [--issues 2000] [--runs 7]

Prints a Markdown table of medians; asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import commit, empty_sandbox, table, write_issues

from maestro.config.service import parse_config_file
from maestro.orchestration.orchestrator import Orchestrator


def measure(repo: Path, runs: int) -> tuple[float, float, int]:
    """Median wall and CPU milliseconds of ``plan()``, and the number dispatched."""
    orchestrator = Orchestrator(parse_config_file(repo / "maestro.toml"))
    plan = orchestrator.plan()
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        plan = orchestrator.plan()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls) * 1000, statistics.median(cpus) * 1000, len(plan.dispatch)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-tick-") as tmp:
        repo, _ = empty_sandbox(Path(tmp) / "sandbox")
        for count in sorted({100, args.issues}):
            for path in (repo / "issues").glob("LOAD-*.md"):
                path.unlink()
            write_issues(repo / "issues", count)
            wall, cpu, dispatched = measure(repo, args.runs)
            rows.append((count, f"{wall:.0f}", f"{cpu:.0f}", f"{wall / count * 1000:.0f}",
                         dispatched))
    print(table(f"Poll tick planning, files tracker ({args.runs} runs, {dt.date.today()}, "
                f"commit {commit()})",
                ["issues", "median ms", "CPU ms", "us per issue", "dispatched"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
