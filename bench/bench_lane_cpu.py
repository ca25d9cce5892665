"""Benchmark: CPU of one whole lane outside its agent and its validation commands.

A lane on the embedded defaults (files tracker, local forge, scripted agent) from claim to
cleanup: ``maestro lane`` up to the review wait, an approval, ``maestro lane`` again to
land, close out and clean up. The lane processes' CPU is user+system time of their whole
process trees (``RUSAGE_CHILDREN`` around each run: git, hooks, the agent and the
validation commands included); the agent and every validation command (the lane's and
the local forge's check) run under ``bench/cpu_wrap.py``, which logs their share, and
that share is subtracted. Measured with 10 and 200 issues in the tracker folder, and a
``python -c pass`` baseline in the same run.

    python bench/bench_lane_cpu.py [--runs 3] [--issues 10 200] [--before PATH]
                                   [--launch cold,warm]

``--launch`` says how the two lane halves start: ``cold`` (default) runs
``python -m maestro lane`` as a fresh interpreter; ``warm`` starts them as the daemon does
by default (``[dispatch] warm_workers``): through ``LaneLauncher(..., warm=True)`` in
``bench/warm_lane.py``, forked from a zygote that is ready before the first half (a
daemon's steady state). A warm lane's CPU is its forked processes' whole trees (git, the
agent and validation wrappers included), read from ``/proc`` before each is reaped, less
the wrapped share as for cold lanes. The zygote's own CPU (imports and forks) is a one-off
per zygote; it is reported apart, and also spread over the lanes one zygote forks by
default (``warm_restart_after_lanes`` = 100 forks, two per lane: 50 lanes).

``--before PATH`` also runs the lanes with ``PYTHONPATH=PATH`` (an older source tree),
alternating with the current code in the same run (for warm rows the launcher, its zygote
and its lanes all come from that tree). Both trees are byte-compiled first
(``compileall``), as an installed maestro is: with ``PYTHONDONTWRITEBYTECODE`` set, every
lane process would otherwise compile maestro's modules from source again.

Prints a Markdown table of medians; asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import commit, empty_sandbox, table, write_issues

from maestro.trackers.files import FilesTracker

WRAP = Path(__file__).resolve().parent / "cpu_wrap.py"
WARM = Path(__file__).resolve().parent / "warm_lane.py"
#: Lanes one zygote forks before its routine restart (100 forks, two halves per lane).
LANES_PER_ZYGOTE = 50


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wrapped(log: Path, label: str, command: str) -> str:
    return shlex.join([sys.executable, str(WRAP), str(log), label]) + " " + command


def lane_sandbox(root: Path, issues: int, log: Path) -> Path:
    """A demo sandbox with ``issues`` issue files, BENCH-1 among them, and the agent and
    the validation command wrapped by ``cpu_wrap.py``."""
    repo, _ = empty_sandbox(root)
    write_issues(repo / "issues", issues - 1, prefix="BENCH", state="Backlog")
    (repo / "issues" / "BENCH-1.md").unlink()
    FilesTracker(repo / "issues", "BENCH").create("benchmark lane", "Add a note.",
                                                  identifier="BENCH-1")
    workflow = repo / "WORKFLOW.md"
    text = workflow.read_text()
    validation = "python3 -m unittest -q test_hello"
    text = text.replace(json.dumps(validation), json.dumps(wrapped(log, "validation",
                                                                   validation)))
    workflow.write_text(text)
    config = repo / "maestro.toml"
    agent = "python -m maestro.agents.scripted"
    # This interpreter, not whichever ``python`` is first on PATH (maestro rewrites a bare
    # ``python`` only when it is the command's first word, and here the wrapper is).
    inner = shlex.join([sys.executable, "-m", "maestro.agents.scripted"])
    config.write_text(config.read_text().replace(
        f'command = "{agent}"', f"command = {json.dumps(wrapped(log, 'agent', inner))}"))
    subprocess.run(["git", "commit", "-qam", "bench: wrapped commands"], cwd=repo,
                   check=True)
    subprocess.run(["git", "push", "-q", "origin", "HEAD"], cwd=repo, check=True,
                   capture_output=True)
    return repo


def run(repo: Path, env: dict[str, str], *args: str) -> tuple[float, float]:
    """(CPU s of the process tree, wall s) of one maestro command."""
    before, started = children_cpu(), time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "maestro", *args], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"maestro {' '.join(args)} exited {proc.returncode}:\n"
                         f"{proc.stdout}\n{proc.stderr}")
    return children_cpu() - before, time.perf_counter() - started


def cold_halves(repo: Path, env: dict[str, str]) -> dict[str, float]:
    """Both halves as fresh ``maestro lane`` processes; CPU of their whole trees."""
    first = run(repo, env, "lane", "BENCH-1", "--quiet")
    subprocess.run([sys.executable, "-m", "maestro", "review", "approve", "BENCH-1"],
                   cwd=repo, env=env, capture_output=True, check=True)
    second = run(repo, env, "lane", "BENCH-1", "--quiet")
    return {"total": first[0] + second[0], "wall": first[1] + second[1],
            "zygote": float("nan")}


def warm_halves(repo: Path, env: dict[str, str]) -> dict[str, float]:
    """Both halves forked by a ready zygote through the daemon's launcher."""
    proc = subprocess.run([sys.executable, str(WARM), str(repo), "BENCH-1"], cwd=repo,
                          env=env, capture_output=True, text=True, timeout=900,
                          check=False)
    if proc.returncode != 0:
        raise SystemExit(f"warm lane exited {proc.returncode}:\n{proc.stdout}\n"
                         f"{proc.stderr}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"total": sum(result["cpu"]), "wall": sum(result["wall"]),
            "zygote": result["zygote_cpu"]}


def one_lane(issues: int, env: dict[str, str], launch: str = "cold") -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-cpu-") as tmp:
        log = Path(tmp) / "wrapped.jsonl"
        repo = lane_sandbox(Path(tmp) / "sandbox", issues, log)
        halves = (warm_halves if launch == "warm" else cold_halves)(repo, env)
        if not (repo / ".maestro" / "lanes" / "BENCH-1" / "cleanup.json").exists():
            raise SystemExit("the lane did not finish")
        records = [json.loads(line) for line in log.read_text().splitlines()]
    total = halves["total"]
    wrapped_cpu = sum(r["cpu_s"] for r in records)
    return {"total": total, "wrapped": wrapped_cpu, "lane": total - wrapped_cpu,
            "wall": halves["wall"], "zygote": halves["zygote"],
            "agent": sum(r["cpu_s"] for r in records if r["label"] == "agent"),
            "validations": sum(1 for r in records if r["label"] == "validation")}


def baseline(runs: int) -> float:
    values = []
    for _ in range(runs):
        before = children_cpu()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        values.append(children_cpu() - before)
    return statistics.median(values)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--issues", type=int, nargs="+", default=[10, 200])
    parser.add_argument("--before", type=Path, help="an older source tree to run as well")
    parser.add_argument("--launch", default="cold",
                        help="how lanes start: cold, warm, or both (cold,warm)")
    args = parser.parse_args()
    launches = [item.strip() for item in args.launch.split(",") if item.strip()]
    if not launches or any(item not in ("cold", "warm") for item in launches):
        parser.error("--launch: a comma-separated list of cold and warm")
    trees_to_compile = [Path(__file__).resolve().parents[1] / "maestro"]
    if args.before is not None:
        trees_to_compile.append(args.before.resolve() / "maestro")
    subprocess.run([sys.executable, "-m", "compileall", "-q", *map(str, trees_to_compile)],
                   capture_output=True, check=False)
    python = baseline(9)
    rows = [("`python -c pass`", "-", f"{python:.3f}", "-", "-", "-", "-", "-", "-")]
    trees = [("", dict(os.environ))]
    if args.before is not None:
        trees.append((", before", {**os.environ, "PYTHONPATH": str(args.before.resolve())}))
    results: dict[tuple[int, str, str], list[dict[str, float]]] = {}
    for issues in args.issues:
        for _ in range(args.runs):
            for label, env in trees:
                for launch in launches:
                    results.setdefault((issues, launch, label), []).append(
                        one_lane(issues, env, launch))
    for (issues, launch, label), lanes in results.items():

        def med(key: str, lanes: list[dict[str, float]] = lanes) -> float:
            return statistics.median(lane[key] for lane in lanes)

        warm = launch == "warm"
        rows.append((f"one lane, {issues} issues, {launch}{label}", f"{med('total'):.2f}",
                     f"{med('lane'):.2f}", f"{med('agent'):.2f}",
                     f"{med('wrapped') - med('agent'):.2f}", f"{med('validations'):.0f}",
                     f"{med('wall'):.1f}", f"{med('zygote'):.2f}" if warm else "-",
                     f"{med('lane') + med('zygote') / LANES_PER_ZYGOTE:.2f}" if warm
                     else f"{med('lane'):.2f}"))
    print(table(f"CPU per lane ({args.runs} lanes each, {dt.date.today()}, commit {commit()})",
                ["run", "total CPU s", "lane CPU s (outside agent + validation)",
                 "agent CPU s", "validation CPU s", "validation runs", "wall s",
                 "zygote CPU s (once per zygote)",
                 f"lane CPU s with zygote / {LANES_PER_ZYGOTE}"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
