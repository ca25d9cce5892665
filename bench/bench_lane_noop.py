"""Benchmark: a no-op ``doit lane:ID`` on a finished lane, against a bare ``python -c pass``.

Every poll, CI job or operator re-run of a finished lane pays this: load ``dodo.py``, build
the lane's tasks, see every target done, exit. The target is under 3x a bare interpreter.
Also times ``maestro lane ID`` (same work through the CLI), and ``doit --version``: the
floor any ``doit`` invocation pays before ``dodo.py`` is even read.

    python bench/bench_lane_noop.py [--runs 15]

Prints a Markdown table of medians and ratios; asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import commit, empty_sandbox, finished_lane, median_ms, table, wall_times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-noop-") as tmp:
        repo, _ = empty_sandbox(Path(tmp) / "sandbox")
        finished_lane(repo)
        python = median_ms(wall_times([sys.executable, "-c", "pass"], repo, args.runs))
        floor = median_ms(wall_times([sys.executable, "-m", "doit", "--version"], repo,
                                     args.runs))
        doit = median_ms(wall_times([sys.executable, "-m", "doit", "lane:BENCH-1"], repo,
                                    args.runs))
        lane = median_ms(wall_times([sys.executable, "-m", "maestro", "lane", "BENCH-1",
                                     "--quiet"], repo, args.runs))
    rows = [("`python -c pass`", f"{python:.0f}", "1.00"),
            ("`doit --version` (doit alone, no dodo.py)", f"{floor:.0f}",
             f"{floor / python:.2f}"),
            ("`doit lane:BENCH-1` (finished lane)", f"{doit:.0f}", f"{doit / python:.2f}"),
            ("`maestro lane BENCH-1 --quiet` (finished lane)", f"{lane:.0f}",
             f"{lane / python:.2f}")]
    print(table(f"No-op lane run ({args.runs} runs, {dt.date.today()}, commit {commit()})",
                ["command", "median ms", "x python"], rows))
    print(f"\ntarget: doit no-op under 3x python -c pass -> {doit / python:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
