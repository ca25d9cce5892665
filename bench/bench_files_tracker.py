"""Benchmark: the files tracker at 1 000 and 5 000 issues, before and after, in one run.

Each row is a FRESH process (what a lane process or a restarted daemon pays), timed inside
the process around the call alone (imports excluded):

- ``first tick``: ``Orchestrator.plan()`` once, the first tick of a daemon or ``maestro run``;
- ``warm tick``: the median of the next 5 ``plan()`` calls of the same process;
- ``get with blockers``: ``tracker.get(ID)`` for an issue with two ``blocked_by`` entries,
  what every lane process does a dozen times.

"before" runs the tracker module as it was at ``--before`` (read with ``git show`` and
installed in place of ``maestro.trackers.files`` in the child process); "after" runs the
working tree, once with the parse cache on disk warm (written by the previous process) and
once cold (the cache file deleted before each run: the first process ever). The "before"
runs come first, so the issue files are older than the cache's 2 s settling time when the
"after" warm-up writes the cache (a file that young is confirmed by content, not cached).

    python bench/bench_files_tracker.py [--issues 1000 5000] [--runs 5] [--before 84e11b8]

Prints Markdown tables of medians; asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: the branch's starting commit: the tracker without the id lookup or the cache on disk
BEFORE = "84e11b8"


def install_old_tracker(rev: str) -> None:
    """Put ``maestro/trackers/files.py`` as of ``rev`` in ``sys.modules`` (child only)."""
    source = subprocess.run(["git", "show", f"{rev}:maestro/trackers/files.py"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout
    module = types.ModuleType("maestro.trackers.files")
    module.__file__ = f"{rev}:maestro/trackers/files.py"
    sys.modules[module.__name__] = module
    exec(compile(source, module.__file__, "exec"), module.__dict__)
    old = module.FilesTracker

    class FilesTracker(old):  # type: ignore[misc, valid-type]
        def __init__(self, folder: Path, issue_prefix: str = "MAE", **_: object) -> None:
            super().__init__(folder, issue_prefix)

    module.FilesTracker = FilesTracker


def child(mode: str, repo: Path, before: str | None) -> None:
    """Time one call in this fresh process; print ``{"ms": wall, "cpu": cpu}``."""
    sys.path.insert(0, str(ROOT))
    if before:
        install_old_tracker(before)
    from maestro.config.service import parse_config_file
    from maestro.orchestration.orchestrator import Orchestrator
    from maestro.trackers import make_tracker

    orchestrator = Orchestrator(parse_config_file(repo / "maestro.toml"))
    walls, cpus = [], []
    if mode == "get":
        tracker = make_tracker(orchestrator.config, orchestrator.workflow())
        wall, cpu = time.perf_counter(), time.process_time()
        issue = tracker.get("LOAD-1")
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
        assert issue.blocker_states == {"LOAD-2": "Todo", "LOAD-3": "Todo"}, issue
    else:
        runs = 1 if mode == "first" else 6
        for _ in range(runs):
            wall, cpu = time.perf_counter(), time.process_time()
            orchestrator.plan()
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
        if mode == "warm":
            walls, cpus = walls[1:], cpus[1:]
    print(json.dumps({"ms": statistics.median(walls) * 1000,
                      "cpu": statistics.median(cpus) * 1000}))


def spawn(mode: str, repo: Path, before: str | None, runs: int,
          cold_cache: bool) -> tuple[float, float]:
    """Median wall and CPU ms of ``runs`` fresh child processes (after one warm-up)."""
    argv = [sys.executable, __file__, "--child", mode, "--repo", str(repo)]
    if before:
        argv += ["--before", before]
    walls, cpus = [], []
    for index in range(runs + 1):
        if cold_cache:
            for path in (repo / ".maestro" / "cache").glob("*"):
                path.unlink()
        proc = subprocess.run(argv, capture_output=True, text=True, check=False,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed:\n{proc.stdout}\n{proc.stderr}")
        if index:
            result = json.loads(proc.stdout.strip().splitlines()[-1])
            walls.append(result["ms"])
            cpus.append(result["cpu"])
    return statistics.median(walls), statistics.median(cpus)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--before", default=BEFORE)
    parser.add_argument("--child", choices=["first", "warm", "get"])
    parser.add_argument("--repo", type=Path)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.repo, args.before if "--before" in sys.argv else None)
        return 0
    sys.path.insert(0, str(ROOT / "bench"))
    from benchlib import commit, empty_sandbox, table, write_issues

    variants = [("before", args.before, False), ("after, cache on disk", None, False),
                ("after, no cache yet", None, True)]
    modes = [("first tick", "first"), ("warm tick", "warm"), ("get with 2 blockers", "get")]
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-files-") as tmp:
        repo, _ = empty_sandbox(Path(tmp) / "sandbox")
        for count in sorted(args.issues):
            for path in (repo / "issues").glob("LOAD-*.md"):
                path.unlink()
            write_issues(repo / "issues", count)
            blocked = repo / "issues" / "LOAD-1.md"
            blocked.write_text(blocked.read_text().replace(
                "blocked_by: []", "blocked_by: [LOAD-2, LOAD-3]"))
            for label, mode in modes:
                base = None
                for name, before, cold in variants:
                    wall, cpu = spawn(mode, repo, before, args.runs, cold)
                    base = base or wall
                    speedup = base / wall
                    rows.append((count, label, name, f"{wall:.1f}", f"{cpu:.1f}",
                                 f"{speedup:.0f}" if speedup >= 10 else f"{speedup:.2f}"))
    print(table(f"Files tracker, fresh processes ({args.runs} runs each, {dt.date.today()}, "
                f"commit {commit()}, before = {args.before})",
                ["issues", "call", "tracker", "median ms", "CPU ms", "x faster"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
