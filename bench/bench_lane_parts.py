"""Benchmark: a warm lane's own CPU and its children's, by kind, alternating two trees.

``bench_lane_cpu.py --launch warm`` counts each forked lane's whole tree, whose spread
between runs (about ±50 ms) hides any change of a few per cent. This bench takes the
lane apart instead: after the zygote's preloads and build-ahead (as a daemon's zygote has
them), each half of one lane (claim to the review wait, then land to cleanup, with
``maestro review approve`` between, not counted) runs in this process, and it reads

* the lane's own CPU (``time.process_time``: user and system, no child counted);
* each child's CPU from ``wait4(2)`` as it is reaped, by kind: ``git`` (with what git
  starts itself) and ``supervisor`` (the agent's and the validation commands' containment
  process, with what it runs: the agent and the commands, so not the lane's own).

With ``--before PATH`` (an older source tree, ``git archive``) the lanes alternate between
the two trees, each in a fresh interpreter with ``PYTHONPATH`` set, so both see the same
machine load. Linux only.

    python bench/bench_lane_parts.py [--runs 10] [--before PATH]

Prints a Markdown table of medians; asserts nothing.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import importlib
import json
import os
import runpy
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import commit, table

IDENTIFIER = "BENCH-1"


def one_lane() -> dict[str, float]:
    """Run one lane in this process (called in a fresh interpreter); CPU seconds by part."""
    from bench_lane_cpu import lane_sandbox

    with tempfile.TemporaryDirectory(prefix="bench-parts-") as tmp:
        repo = lane_sandbox(Path(tmp) / "sandbox", 10, Path(tmp) / "wrapped.jsonl")
        os.chdir(repo)
        from maestro.orchestration.warm import zygote

        for name in zygote.PRELOAD:
            importlib.import_module(name)
        zygote._build_ahead()  # the zygote's own first-use work
        kinds: dict[int, str] = {}
        parts: dict[str, float] = collections.defaultdict(float)
        original_init, original_waitpid = subprocess.Popen.__init__, os.waitpid

        def init(self: Any, args: Any, *more: Any, **named: Any) -> None:
            original_init(self, args, *more, **named)
            argv = [str(a) for a in (args if isinstance(args, list | tuple) else [args])]
            kinds[self.pid] = ("supervisor" if any("reaper.py" in a for a in argv[:4])
                               else "git" if Path(argv[0]).name == "git" else "other")

        def waitpid(pid: int, options: int) -> tuple[int, int]:
            found, status, usage = os.wait4(pid, options)
            if found:
                parts[kinds.get(found, "other")] += usage.ru_utime + usage.ru_stime
            return found, status

        def half() -> float:
            setattr(subprocess.Popen, "__init__", init)  # noqa: B010 - a patch for the run
            os.waitpid = waitpid
            sys.argv = ["-m", "lane", IDENTIFIER, "--quiet"]
            started = time.process_time()
            try:
                runpy.run_module("maestro", run_name="__main__", alter_sys=True)
            except SystemExit:
                pass
            finally:
                # a lane process closes its long-lived git readers at exit; so does each
                # half here, so that they are reaped (and counted) within it
                readers = sys.modules.get("maestro.git.reader")
                if readers is not None:
                    readers.close_all()
                setattr(subprocess.Popen, "__init__", original_init)  # noqa: B010
                os.waitpid = original_waitpid
            return time.process_time() - started

        own = half()
        subprocess.run([sys.executable, "-m", "maestro", "review", "approve", IDENTIFIER],
                       cwd=repo, capture_output=True, check=True)
        own += half()
        if not (repo / ".maestro" / "lanes" / IDENTIFIER / "cleanup.json").exists():
            raise SystemExit("the lane did not finish")
    return {"own": own, **parts}


def run_one(tree: Path | None) -> dict[str, float]:
    env = dict(os.environ)
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
    proc = subprocess.run([sys.executable, __file__, "--one"], env=env, capture_output=True,
                          text=True, timeout=600, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"a lane failed:\n{proc.stdout}\n{proc.stderr}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--before", type=Path, help="an older source tree to run as well")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_lane()))
        return 0
    trees: dict[str, Path | None] = {"this checkout": None}
    if args.before is not None:
        trees["before"] = args.before.resolve()
    results: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
    for _ in range(args.runs):
        for name, tree in trees.items():
            results[name].append(run_one(tree))
    rows = []
    for name, runs in results.items():
        for run in runs:
            run["lane"] = run["own"] + run.get("git", 0.0) + run.get("other", 0.0)
        rows.append([name, *(f"{statistics.median(r.get(key, 0.0) for r in runs) * 1000:.0f}"
                             for key in ("own", "git", "other", "lane", "supervisor"))])
    print(table(f"A warm lane in parts ({args.runs} lanes each, {dt.date.today()}, "
                f"commit {commit()})",
                ["tree", "own CPU ms", "git ms", "other children ms",
                 "lane ms (own + git + other)", "supervisors, with agent and commands, ms"],
                rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
