"""Benchmark: a no-op ``doit lane:ID`` / ``maestro lane ID`` on a finished lane.

Every poll, CI job or operator re-run of a finished lane pays this: load ``dodo.py``, build
the lane's tasks, see every target done, exit. The targets are ratios to ``doit --version``
(the floor any ``doit`` invocation pays before ``dodo.py`` is even read): the doit no-op
at most 1.3x, ``maestro lane ID`` at most 1.5x. ``python -c pass`` is the interpreter's own
floor. Wall and CPU (user+system of the process tree) medians, fresh processes.

    python bench/bench_lane_noop.py [--runs 15] [--before PATH]

``--before PATH`` also times the two lane commands with ``PYTHONPATH=PATH`` (an older
source tree, e.g. ``git archive <commit> | tar -x -C PATH``), interleaved with the current
code in the same run, so that a loaded machine slows both alike.

Prints a Markdown table of medians and ratios; asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import commit, empty_sandbox, finished_lane, table


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def once(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    cpu, started = children_cpu(), time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, env=env, check=False)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}:\n"
                         f"{proc.stderr.decode(errors='replace')}")
    return wall, children_cpu() - cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--before", type=Path, help="an older source tree to time as well")
    args = parser.parse_args()
    py = sys.executable
    env = dict(os.environ)
    commands: list[tuple[str, list[str], dict[str, str]]] = [
        ("`python -c pass`", [py, "-c", "pass"], env),
        ("`doit --version` (doit alone, no dodo.py)", [py, "-m", "doit", "--version"], env),
        ("`doit lane:BENCH-1` (finished lane)", [py, "-m", "doit", "lane:BENCH-1"], env),
        ("`maestro lane BENCH-1 --quiet` (finished lane)",
         [py, "-m", "maestro", "lane", "BENCH-1", "--quiet"], env)]
    if args.before is not None:
        old = {**env, "PYTHONPATH": str(args.before.resolve())}
        commands += [(f"{name[:-1]}, before)", argv, old) for name, argv, _ in commands[2:]]
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name, _, _ in commands}
    with tempfile.TemporaryDirectory(prefix="bench-noop-") as tmp:
        repo, _ = empty_sandbox(Path(tmp) / "sandbox")
        finished_lane(repo)
        for _name, argv, cmd_env in commands:  # warm-up (the first full run stamps the lane)
            once(argv, repo, cmd_env)
        for _ in range(args.runs):
            for name, argv, cmd_env in commands:
                samples[name].append(once(argv, repo, cmd_env))
    medians = {name: (statistics.median(w for w, _ in values) * 1000,
                      statistics.median(c for _, c in values) * 1000)
               for name, values in samples.items()}
    floor = medians[commands[1][0]]
    rows = [(name, f"{wall:.0f}", f"{cpu:.0f}", f"{wall / floor[0]:.2f}",
             f"{cpu / floor[1]:.2f}") for name, (wall, cpu) in medians.items()]
    print(table(f"No-op lane run ({args.runs} runs, {dt.date.today()}, commit {commit()})",
                ["command", "median wall ms", "median CPU ms", "x doit --version (wall)",
                 "x doit --version (CPU)"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
