"""Benchmark: the files tracker at 1 000 and 5 000 issues, two source trees, in one run.

Each row is a FRESH process (what a lane process or a restarted daemon pays), timed inside
the process around the call alone:

- ``first tick``: ``Orchestrator.plan()`` once, the first tick of a daemon or ``maestro run``;
- ``warm tick``: the median of the next 5 ``plan()`` calls of the same process;
- ``get with blockers``: ``tracker.get(ID)`` for an issue with two ``blocked_by`` entries,
  what every lane process does a dozen times.

Imports are not part of the call: the child first imports everything the call needs
(``maestro.trackers.files``, which ``make_tracker`` imports lazily, included) and reports
that time apart (``imports ms``), next to the whole process's wall time and a ``python -c
pass`` of the same round. After a first tick the child also times what ``Orchestrator.tick``
does with the plan besides acting on it (``then log + last_tick ms``): log every decision
new to the process (on a first tick, a skip record per waiting issue) and write
``last_tick.json``.

"before" is the source tree at ``--before`` (exported with ``git archive`` and put first
on the child's ``sys.path``), "after" the working tree, once with the parse cache on disk
warm (written by the previous process) and once cold (deleted before each run: the first
process ever). Each variant has its own copy of the sandbox, so the caches never mix and
the runs interleave (one of each per round): the machine's load falls on all alike. The
issue files are written first and are older than the cache's 2 s settling time when the
warm-up round writes the caches (a file that young is confirmed by content, not cached).

    python bench/bench_files_tracker.py [--issues 1000 5000] [--runs 5] [--before e52a8e1]
                                        [--modes first warm get]

Prints Markdown tables of medians; asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
#: the branch's starting commit (issue #16, first-tick round)
BEFORE = "e52a8e1"
MODES = {"first": "first tick", "warm": "warm tick", "get": "get with 2 blockers"}


def child(mode: str, repo: Path, tree: Path) -> None:
    """Time one call in this fresh process; print the timings as one JSON line."""
    sys.path.insert(0, str(tree))
    imports = time.perf_counter()
    import maestro.trackers.files  # imported lazily by the first tick
    from maestro.config.service import parse_config_file
    from maestro.orchestration.orchestrator import Orchestrator
    from maestro.trackers import make_tracker

    assert Path(maestro.__file__).is_relative_to(tree), maestro.__file__
    import_s = time.perf_counter() - imports
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
            plan = orchestrator.plan()
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
        if mode == "warm":
            walls, cpus = walls[1:], cpus[1:]
    record = 0.0
    if mode == "first":
        record = log_and_record(orchestrator, plan)
    print(json.dumps({"ms": statistics.median(walls) * 1000,
                      "cpu": statistics.median(cpus) * 1000, "imports": import_s * 1000,
                      "record": record * 1000}))


def log_and_record(orchestrator: Any, plan: Any) -> float:
    """Wall seconds of what ``Orchestrator.tick`` does with a plan besides acting on it:
    log the decisions new to this process (all of them, on a first tick) and write
    ``last_tick.json``."""
    from maestro.fsutil import write_json
    from maestro.ids import iso_now
    from maestro.observability import logs
    from maestro.orchestration.tick_log import only_changed

    started = time.perf_counter()
    quiet, _ = only_changed(plan.as_dict(), {})
    logs.log_plan(orchestrator.config, quiet)
    write_json(orchestrator.config.state_root / "last_tick.json",
               {"at": iso_now(), "plan": plan.as_dict()})
    return time.perf_counter() - started


def export(rev: str, into: Path) -> Path:
    """The source tree at ``rev`` (``git archive``), unpacked under ``into``."""
    archive = subprocess.run(["git", "archive", "--format=tar", rev], cwd=ROOT,
                             capture_output=True, check=True).stdout
    tree = into / f"tree-{rev}"
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(tree, filter="data")
    return tree


def run_child(mode: str, repo: Path, tree: Path) -> dict[str, float]:
    """One fresh child process; its timings plus the whole process's wall ms."""
    argv = [sys.executable, __file__, "--child", mode, "--repo", str(repo), "--tree", str(tree)]
    started = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, check=False,
                          env={**os.environ, "PYTHONPATH": str(tree)})
    wall = (time.perf_counter() - started) * 1000
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{proc.stdout}\n{proc.stderr}")
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return {**result, "process": wall}


def python_pass() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return (time.perf_counter() - started) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--before", default=BEFORE)
    parser.add_argument("--modes", nargs="+", choices=list(MODES), default=list(MODES))
    parser.add_argument("--child", choices=list(MODES))
    parser.add_argument("--repo", type=Path)
    parser.add_argument("--tree", type=Path)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.repo, args.tree)
        return 0
    sys.path.insert(0, str(ROOT / "bench"))
    from benchlib import commit, empty_sandbox, table, write_issues

    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-files-") as tmp:
        before = export(args.before, Path(tmp))
        variants = [("before", before, False), ("after, cache on disk", ROOT, False),
                    ("after, no cache yet", ROOT, True)]
        for count in sorted(args.issues):
            template, _ = empty_sandbox(Path(tmp) / f"sandbox-{count}" / "template")
            write_issues(template / "issues", count)
            blocked = template / "issues" / "LOAD-1.md"
            blocked.write_text(blocked.read_text().replace(
                "blocked_by: []", "blocked_by: [LOAD-2, LOAD-3]"))
            repos = []
            for index in range(len(variants)):
                repo = Path(tmp) / f"sandbox-{count}" / f"variant-{index}"
                shutil.copytree(template, repo, symlinks=True)
                repos.append(repo)
            time.sleep(2.5)  # every issue file settled before any cache is written
            for mode in args.modes:
                found: list[list[dict[str, float]]] = [[] for _ in variants]
                baseline = []
                for round_ in range(args.runs + 1):  # round 0 warms up (caches, bytecode)
                    for index, (_, tree, cold) in enumerate(variants):
                        if cold:
                            for path in (repos[index] / ".maestro" / "cache").glob("*"):
                                path.unlink()
                        result = run_child(mode, repos[index], tree)
                        if round_:
                            found[index].append(result)
                    if round_:
                        baseline.append(python_pass())
                base = None
                for (name, _, _), results in zip(variants, found, strict=True):
                    wall = statistics.median(r["ms"] for r in results)
                    base = base or wall
                    speedup = base / wall
                    rows.append((count, MODES[mode], name, f"{wall:.1f}",
                                 f"{statistics.median(r['cpu'] for r in results):.1f}",
                                 f"{speedup:.0f}" if speedup >= 10 else f"{speedup:.2f}",
                                 f"{statistics.median(r['imports'] for r in results):.0f}",
                                 f"{statistics.median(r['record'] for r in results):.0f}"
                                 if mode == "first" else "",
                                 f"{statistics.median(r['process'] for r in results):.0f}",
                                 f"{statistics.median(baseline):.0f}"))
    print(table(f"Files tracker, fresh processes ({args.runs} runs each, {dt.date.today()}, "
                f"commit {commit()}, before = {args.before}, load {os.getloadavg()[0]:.1f})",
                ["issues", "call", "tree", "median ms", "CPU ms", "x faster", "imports ms",
                 "then log + last_tick ms", "process ms", "`python -c pass` ms"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
