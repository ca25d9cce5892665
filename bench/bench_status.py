"""Benchmark: ``maestro status`` start-up time, text and JSON, against ``python -c pass``.

An operator types it; a dashboard or a script polls ``status --json``. Measured on a
sandbox with one finished lane and one lane waiting for review, as fresh processes.

    python bench/bench_status.py [--runs 15]

Prints a Markdown table of medians and ratios; asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import commit, empty_sandbox, finished_lane, maestro, median_ms, table, wall_times

from maestro.trackers.files import FilesTracker


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-status-") as tmp:
        repo, _ = empty_sandbox(Path(tmp) / "sandbox")
        finished_lane(repo)
        FilesTracker(repo / "issues", "BENCH").create("waiting lane", "Add a note.",
                                                      identifier="BENCH-2")
        maestro(repo, "lane", "BENCH-2", "--quiet")
        python = median_ms(wall_times([sys.executable, "-c", "pass"], repo, args.runs))
        rows = [("`python -c pass`", f"{python:.0f}", "1.00")]
        for label, argv in (("`maestro --version`", ["--version"]),
                            ("`maestro status`", ["status"]),
                            ("`maestro status --json`", ["status", "--json"])):
            ms = median_ms(wall_times([sys.executable, "-m", "maestro", *argv], repo,
                                      args.runs))
            rows.append((label, f"{ms:.0f}", f"{ms / python:.2f}"))
    print(table(f"maestro status start-up ({args.runs} runs, 2 lanes, {dt.date.today()}, "
                f"commit {commit()})", ["command", "median ms", "x python"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
