"""Benchmark: the own CPU of a cold lane's two ``maestro lane`` processes, children apart.

``bench_lane_cpu.py`` counts a lane's whole process trees, so its ~130 git processes, the
reaper supervisors and the agent's start-up swing each lane by 0.1-0.2 s; a change to the
lane processes' own start-up (imports, the collector, the parser) drowns in that. This
bench runs the same lane (claim to the review wait, an approval, land to cleanup, a fresh
sandbox per lane) and reads each ``maestro lane`` process's own user+system time from
``/proc/PID/stat`` while it is exited but not yet reaped (``waitid(..., WNOWAIT)``), so
no child of it is counted. With ``--before PATH`` the lanes alternate with an older source
tree put on ``PYTHONPATH`` (both trees byte-compiled first). Linux only.

    python bench/bench_lane_own_cpu.py [--runs 9] [--issues 10] [--before PATH]

Prints a Markdown table of medians; asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_lane_cpu import lane_sandbox
from benchlib import commit, table

TICK = os.sysconf("SC_CLK_TCK")


def own_cpu(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    """CPU seconds of the process ``argv`` itself (its children not counted)."""
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
    fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
    _, err = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}:\n{err.decode()}")
    return (utime + stime) / TICK


def one_lane(issues: int, env: dict[str, str]) -> tuple[float, float]:
    """Own CPU seconds of the lane's first half and of its land half."""
    lane = [sys.executable, "-m", "maestro", "lane", "BENCH-1", "--quiet"]
    with tempfile.TemporaryDirectory(prefix="bench-own-") as tmp:
        repo = lane_sandbox(Path(tmp) / "sandbox", issues, Path(tmp) / "wrapped.jsonl")
        first = own_cpu(lane, repo, env)
        subprocess.run([sys.executable, "-m", "maestro", "review", "approve", "BENCH-1"],
                       cwd=repo, env=env, capture_output=True, check=True)
        land = own_cpu(lane, repo, env)
        if not (repo / ".maestro" / "lanes" / "BENCH-1" / "cleanup.json").exists():
            raise SystemExit("the lane did not finish")
    return first, land


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--issues", type=int, default=10)
    parser.add_argument("--before", type=Path, help="an older source tree to run as well")
    args = parser.parse_args()
    trees = [Path(__file__).resolve().parents[1] / "maestro"]
    variants = [("", dict(os.environ))]
    if args.before is not None:
        trees.append(args.before.resolve() / "maestro")
        variants.append((", before", {**os.environ, "PYTHONPATH": str(args.before.resolve())}))
    subprocess.run([sys.executable, "-m", "compileall", "-q", *map(str, trees)],
                   capture_output=True, check=False)
    python = statistics.median(own_cpu([sys.executable, "-c", "pass"], Path.cwd(),
                                       dict(os.environ)) for _ in range(9))
    results: dict[str, list[tuple[float, float]]] = {label: [] for label, _ in variants}
    for _ in range(args.runs):
        for label, env in variants:
            results[label].append(one_lane(args.issues, env))
    rows: list[tuple[str, ...]] = [("`python -c pass`", f"{python:.3f}", "-", "-")]
    for label, lanes in results.items():
        first = statistics.median(f for f, _ in lanes)
        land = statistics.median(x for _, x in lanes)
        rows.append((f"one lane, {args.issues} issues{label}", f"{first:.3f}", f"{land:.3f}",
                     f"{statistics.median(f + x for f, x in lanes):.3f}"))
    print(table(f"Own CPU of the lane processes ({args.runs} lanes each, {dt.date.today()}, "
                f"commit {commit()})",
                ["run", "first half s", "land half s", "both s"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
