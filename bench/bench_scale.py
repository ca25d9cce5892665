"""Scale: N issues x concurrency on the embedded defaults, every issue Done with one merge.

For each size N and concurrency C: a fresh demo sandbox (real git, bare origin, files
tracker, local forge, scripted agent) gets N independent issues; poll ticks run in this
process (as ``maestro run`` would, each waiting for its lanes) while a scripted reviewer
approves every open pull request, until every issue is Done. Reported per cell: lanes per
minute, CPU per lane (user + system of every child process: lane processes, their agents,
git, validation), the largest child's peak RSS, and whether every issue is Done with exactly
one merge on origin. The validation command is ``true`` so the CPU is maestro's and git's
(plus the scripted agent's interpreter), not a test suite's. A paired ``python -c pass`` is
timed in the same run as the machine's baseline.

``--launch`` says how lanes start: ``cold`` (a fresh interpreter per lane, as ``maestro run
--once`` starts them) and/or ``warm`` (forked by a warm lane worker, as ``maestro daemon``
starts them with ``[dispatch] warm_workers``). A warm cell's CPU includes its zygote's, imports
and all, spread over the cell's N lanes.

Run: python bench/bench_scale.py [--sizes 10,100,200] [--concurrency 1,2,4]
[--launch cold,warm]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import commit, empty_sandbox, wall_times

from maestro.config.service import parse_config_file
from maestro.forges.local import LocalForge
from maestro.orchestration.orchestrator import Orchestrator
from maestro.orchestration.warm.launcher import LaneLauncher
from maestro.scaffold.demo import reviewer_pass
from maestro.trackers.files import FilesTracker

PREFIX = "SCALE"


def children_cpu() -> tuple[float, int]:
    """``(user + system seconds, peak RSS KiB of the largest child)`` of waited children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def configure(repo: Path, concurrency: int) -> None:
    workflow = repo / "WORKFLOW.md"
    text = workflow.read_text()
    text = text.replace("max_concurrent_agents = 2", f"max_concurrent_agents = {concurrency}")
    text = text.replace('validation_commands = ["python3 -m unittest -q test_hello"]',
                        'validation_commands = ["true"]')
    workflow.write_text(text)
    subprocess.run(["git", "commit", "-qam", "bench settings"], cwd=repo, check=True)
    subprocess.run(["git", "push", "-q", "origin", "main"], cwd=repo, check=True)


def merges_on_origin(origin: Path) -> int:
    out = subprocess.run(["git", "rev-list", "--merges", "--count", "main"], cwd=origin,
                         capture_output=True, text=True, check=True).stdout
    return int(out.strip())


def run_cell(size: int, concurrency: int, warm: bool) -> dict[str, float | int | bool]:
    with tempfile.TemporaryDirectory() as tmp:
        repo, origin = empty_sandbox(Path(tmp) / "box")
        configure(repo, concurrency)
        tracker = FilesTracker(repo / "issues", PREFIX)
        for number in range(1, size + 1):
            tracker.create(f"note {number}", "Add a note.", identifier=f"{PREFIX}-{number}")
        config = parse_config_file(repo / "maestro.toml")
        orchestrator = Orchestrator(config)
        forge = LocalForge(repo, "origin")
        cpu_before, _ = children_cpu()
        started = time.monotonic()
        if warm:  # as Orchestrator.daemon does
            orchestrator.launcher = LaneLauncher(
                orchestrator.warn, config.state_root / "logs", True,
                config.dispatch.warm_restart_after_lanes)
            orchestrator.launcher.prepare(config.repo_root)
        ticks = 0
        while True:
            ticks += 1
            plan = orchestrator.tick(wait=True)
            reviewed = reviewer_pass(repo, forge)
            states = [tracker.get(f"{PREFIX}-{n}").state for n in range(1, size + 1)]
            if all(state == "Done" for state in states):
                break
            if not plan.dispatch and not reviewed and not plan.retries_waiting:
                raise SystemExit(f"N={size} C={concurrency}: stuck after {ticks} ticks: "
                                 f"{sorted(set(states))}")
        orchestrator.launcher.close()  # the zygote exits and is reaped: its CPU counts
        wall = time.monotonic() - started
        cpu_after, peak = children_cpu()
        merges = merges_on_origin(origin)
        return {"wall_s": wall, "lanes_per_min": size / wall * 60,
                "cpu_per_lane_s": (cpu_after - cpu_before) / size, "peak_rss_mib": peak // 1024,
                "one_merge_each": merges == size, "ticks": ticks,
                "warm_starts": orchestrator.launcher.warm_starts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,200")
    parser.add_argument("--concurrency", default="1,2,4")
    parser.add_argument("--launch", default="cold,warm")
    args = parser.parse_args()
    launches = args.launch.split(",")
    if set(launches) - {"cold", "warm"}:
        raise SystemExit(f"--launch: expected cold and/or warm, got {args.launch!r}")
    sizes = [int(n) for n in args.sizes.split(",")]
    levels = [int(n) for n in args.concurrency.split(",")]
    wall = sorted(wall_times([sys.executable, "-c", "pass"], Path.cwd(), 9))[4]
    before, _ = children_cpu()
    for _ in range(9):
        subprocess.run([sys.executable, "-c", "pass"], check=True)
    baseline = (children_cpu()[0] - before) / 9
    print(f"commit {commit()}; python -c pass: median wall {wall * 1000:.0f} ms, "
          f"CPU {baseline * 1000:.0f} ms")
    print("| N | concurrency | lanes start | lanes/min | CPU per lane s "
          "| CPU per lane / python -c pass | peak child RSS MiB | all Done, one merge each "
          "| ticks |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    cells = [(size, level, launch) for size in sizes for level in levels for launch in launches]
    for size, level, launch in cells:
        cell = run_cell(size, level, launch == "warm")
        started = launch if launch == "cold" else f"warm ({cell['warm_starts']} forked)"
        print(f"| {size} | {level} | {started} | {cell['lanes_per_min']:.1f} "
              f"| {cell['cpu_per_lane_s']:.2f} "
              f"| {cell['cpu_per_lane_s'] / baseline:.0f}x "
              f"| {cell['peak_rss_mib']} | {'yes' if cell['one_merge_each'] else 'NO'} "
              f"| {cell['ticks']} |", flush=True)

if __name__ == "__main__":
    main()
