"""Benchmark: git processes and validation runs per lane, and the cost of one git call.

A finished lane (claim to cleanup: ``maestro lane``, ``maestro review approve``, ``maestro
lane`` again, on the embedded defaults) is run twice in one go: once with the maestro of a
baseline commit (extracted with ``git archive`` and put first on ``PYTHONPATH``), once with
this checkout. For each it counts, without strace:

* git processes, from ``GIT_TRACE`` (one ``trace: built-in: git ...`` line per process,
  including those git spawns itself: ``maintenance run --auto``, ``upload-pack``, ...; the
  agent's and the validation commands' git are not traced, their environment drops it);
* runs of the validation commands (the workflow's command also appends ``pwd`` to a file);
* wall time and the CPU time of all child processes.

Then, in this process, the cost of one ``git rev-parse HEAD`` through ``sh`` and through
:func:`subprocess.run` (same prepared environment), and through :func:`maestro.git.git`
(which also builds that environment each call), against spawning ``/bin/true``.

    python bench/bench_lane_git.py [--baseline 84e11b8] [--runs 2] [--calls 60]

Prints Markdown tables; asserts nothing.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import os
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import ROOT, commit, empty_sandbox, table

from maestro.trackers.files import FilesTracker

#: The commit this branch started from: maestro before issue 16's git work.
BASELINE = "84e11b8"
VALIDATION = '"python3 -m unittest -q test_hello"'


def extract(revision: str, dest: Path) -> Path:
    """``revision``'s tree in ``dest`` (nothing registered in this repository)."""
    archive = dest.with_suffix(".tar")
    subprocess.run(["git", "archive", "--format=tar", "-o", str(archive), revision],
                   cwd=ROOT, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    return dest


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def git_processes(trace: Path) -> collections.Counter[str]:
    """``subcommand -> processes`` from a ``GIT_TRACE`` file."""
    counts: collections.Counter[str] = collections.Counter()
    marker = "trace: built-in: git "
    for line in trace.read_text(errors="replace").splitlines():
        if marker in line:
            words = [w for w in line.split(marker, 1)[1].split() if not w.startswith("-")]
            counts[words[0] if words else "?"] += 1
    return counts


@dataclass(frozen=True)
class LaneCost:
    git: collections.Counter[str]
    validations: int
    wall: float
    cpu: float


def one_lane(root: Path, code: Path | None) -> LaneCost:
    """Run one lane from claim to cleanup with the maestro in ``code`` (None: this one)."""
    repo, _ = empty_sandbox(root / "sandbox")
    runs_file, trace = root / "validation-runs.txt", root / "git-trace.txt"
    workflow = repo / "WORKFLOW.md"
    workflow.write_text(workflow.read_text().replace(
        VALIDATION, f'"python3 -m unittest -q test_hello && pwd >> {runs_file}"'))
    FilesTracker(repo / "issues", "BENCH").create("benchmark lane", "Add a note.",
                                                  identifier="BENCH-1")
    env = {**os.environ, "GIT_TRACE": str(trace)}
    if code is not None:
        env["PYTHONPATH"] = str(code)
    cpu, started = children_cpu(), time.perf_counter()
    for args in (["lane", "BENCH-1", "--quiet"], ["review", "approve", "BENCH-1"],
                 ["lane", "BENCH-1", "--quiet"]):
        subprocess.run([sys.executable, "-m", "maestro", *args], cwd=repo, env=env,
                       capture_output=True, timeout=600, check=False)
    wall, cpu = time.perf_counter() - started, children_cpu() - cpu
    if not (repo / ".maestro" / "lanes" / "BENCH-1" / "cleanup.json").exists():
        raise SystemExit(f"the lane did not finish with {code or 'this checkout'}")
    places = runs_file.read_text().splitlines() if runs_file.exists() else []
    return LaneCost(git_processes(trace), len(places), wall, cpu)


def per_call(calls: int) -> list[tuple[str, float]]:
    """Median seconds of one call, each way, in one sandbox."""
    import sh

    from maestro.git import git, git_env

    with tempfile.TemporaryDirectory(prefix="bench-git-call-") as tmp:
        repo, _ = empty_sandbox(Path(tmp) / "sandbox")
        env = git_env(repo)
        ways: list[tuple[str, Callable[[], object]]] = [
            ("spawn `/bin/true` (subprocess)", lambda: subprocess.run(["/bin/true"],
                                                                       check=False)),
            ("`git rev-parse HEAD` through `sh`", lambda: sh.git(
                "rev-parse", "HEAD", _cwd=str(repo), _env=env, _tty_out=False)),
            ("`git rev-parse HEAD` through `subprocess.run`", lambda: subprocess.run(
                ["git", "rev-parse", "HEAD"], cwd=repo, env=env, capture_output=True,
                stdin=subprocess.DEVNULL, check=False)),
            ("`maestro.git.git(repo, 'rev-parse', 'HEAD')` (builds the env too)",
             lambda: git(repo, "rev-parse", "HEAD")),
        ]
        times: dict[str, list[float]] = {name: [] for name, _ in ways}
        for _ in range(calls):  # interleaved, so load on the machine hits every way alike
            for name, call in ways:
                started = time.perf_counter()
                call()
                times[name].append(time.perf_counter() - started)
    return [(name, statistics.median(values)) for name, values in times.items()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default=BASELINE, help="the 'before' commit")
    parser.add_argument("--runs", type=int, default=2, help="lanes per side")
    parser.add_argument("--calls", type=int, default=60, help="git calls per way")
    args = parser.parse_args()
    results: dict[str, list[LaneCost]] = {"before": [], "after": []}
    with tempfile.TemporaryDirectory(prefix="bench-lane-git-") as tmp:
        old = extract(args.baseline, Path(tmp) / "baseline")
        for run in range(args.runs):  # alternate sides, so load drifts hit both
            for side, code in (("before", old), ("after", None)):
                folder = Path(tmp) / f"{side}-{run}"
                folder.mkdir()
                results[side].append(one_lane(folder, code))
    rows = []
    for side, lanes in results.items():
        label = f"before (`{args.baseline}`)" if side == "before" else f"after (`{commit()}`)"
        rows.append((label,
                     f"{statistics.median(sum(r.git.values()) for r in lanes):g}",
                     f"{statistics.median(r.git['config'] for r in lanes):g}",
                     f"{statistics.median(r.validations for r in lanes):g}",
                     f"{statistics.median(r.wall for r in lanes):.1f}",
                     f"{statistics.median(r.cpu for r in lanes):.2f}"))
    print(table(f"Git processes per finished lane ({args.runs} lanes a side, "
                f"{dt.date.today()})",
                ["maestro", "git processes", "of which `git config`", "validation runs",
                 "wall s", "CPU s (all children)"], rows))
    print()
    for side, lanes in results.items():
        merged: collections.Counter[str] = collections.Counter()
        for r in lanes:
            merged.update(r.git)
        top = ", ".join(f"{name} {count / args.runs:g}" for name, count in merged.most_common())
        print(f"{side}: {top}")
    print()
    calls = per_call(args.calls)
    floor = calls[0][1]
    print(table(f"One git call ({args.calls} calls each, interleaved)",
                ["call", "median ms", "x spawn /bin/true"],
                [(name, f"{seconds * 1000:.2f}", f"{seconds / floor:.2f}")
                 for name, seconds in calls]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
