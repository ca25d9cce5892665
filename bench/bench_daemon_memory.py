"""Benchmark: peak memory (VmHWM) of the ``maestro daemon`` process with 50 lanes.

The daemon holds the plan, the retry queue and one ``Popen`` per running lane; the lanes
themselves are separate processes and are not counted. Scenarios, each a fresh daemon doing
one tick over a project of 2 000 backlog issues plus the startable ones:

- no lane: nothing startable;
- 50 lanes: 50 startable issues and ``max_concurrent_agents = 50``, so the tick dispatches
  50 lane processes (they are stopped with SIGTERM when the daemon ends its last tick).

    python bench/bench_daemon_memory.py [--lanes 50] [--issues 2000]

Prints a Markdown table; asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import commit, empty_sandbox, table, write_issues

#: Runs the real CLI and reports the process's own peak resident set size at exit.
PEAK = ("import atexit, sys\n"
        "def peak():\n"
        "    for line in open('/proc/self/status'):\n"
        "        if line.startswith('VmHWM:'):\n"
        "            print('PEAK_KB', line.split()[1], file=sys.stderr)\n"
        "atexit.register(peak)\n"
        "from maestro.cli import main\n"
        "main(sys.argv[1:])\n")


def peak_kb(argv: list[str], cwd: Path) -> tuple[int, float]:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", PEAK, *argv], cwd=cwd, capture_output=True,
                          text=True, timeout=300, check=False)
    seconds = time.perf_counter() - started
    match = re.search(r"PEAK_KB (\d+)", proc.stderr)
    if not match:
        raise SystemExit(f"no peak reported:\n{proc.stdout}\n{proc.stderr}")
    return int(match.group(1)), seconds


def sandbox(root: Path, issues: int, lanes: int) -> Path:
    repo, _ = empty_sandbox(root)
    write_issues(repo / "issues", issues, prefix="BACK", state="Backlog")
    write_issues(repo / "issues", lanes, prefix="RUN", state="Todo")
    workflow = repo / "WORKFLOW.md"
    text = re.sub(r"max_concurrent_agents = \d+", f"max_concurrent_agents = {max(lanes, 1)}",
                  workflow.read_text())
    workflow.write_text(text)
    return repo


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lanes", type=int, default=50)
    parser.add_argument("--issues", type=int, default=2000)
    args = parser.parse_args()
    daemon = ["daemon", "--max-ticks", "1", "--poll-interval-s", "0.2"]
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-daemon-") as tmp:
        python_kb, _ = peak_kb(["--version"], Path(tmp))
        rows.append(("`maestro --version` (interpreter + CLI)", f"{python_kb / 1024:.0f}", "-"))
        for lanes in (0, args.lanes):
            repo = sandbox(Path(tmp) / f"s{lanes}", args.issues, lanes)
            kb, seconds = peak_kb(daemon, repo)
            started = len(list((repo / ".maestro" / "logs").glob("RUN-*.log")))
            rows.append((f"daemon, one tick, {args.issues} backlog issues, {started} lanes "
                         "dispatched", f"{kb / 1024:.0f}", f"{seconds:.1f}"))
    print(table(f"Daemon peak memory ({dt.date.today()}, commit {commit()})",
                ["scenario", "peak RSS MiB", "wall s"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
