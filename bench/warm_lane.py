"""Run one lane's two halves warm, exactly as the daemon starts them (bench helper).

    python bench/warm_lane.py REPO IDENTIFIER

Used by ``bench_lane_cpu.py --launch warm`` in a subprocess, so that ``--before`` can put
an older maestro first on ``PYTHONPATH`` for the launcher, its zygote and its lanes alike
(this script imports nothing from ``bench/``). It starts a zygote in ``REPO`` with
:class:`~maestro.orchestration.warm.launcher.LaneLauncher` (``warm=True``, as
``[dispatch] warm_workers`` does), waits until it is ready (a daemon's steady state), then
starts ``orchestrator.lane_command(ID)`` through it: the first half to the review wait,
``maestro review approve`` cold (not counted, as in the cold rows), the land half.

Each forked lane's CPU is read from ``/proc/PID/stat`` while it is an exited, unreaped
zombie (the zygote keeps it so until the launcher's client reads the exit): its own
user+system time since the fork plus that of every child it reaped (git, the agent and
validation wrappers). The zygote's own CPU (its imports, the parser it builds ahead, its
forks and the per-fork code check) is read before it is closed and reported apart.

Prints one JSON object: ``{"cpu": [s, s], "wall": [s, s], "zygote_cpu": s,
"zygote_ready_s": s}``; exits non-zero when a half fails or a dispatch fell back to cold.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path

from maestro.config.service import parse_config_file
from maestro.orchestration.orchestrator import Orchestrator
from maestro.orchestration.warm.launcher import LaneLauncher

TICK = os.sysconf("SC_CLK_TCK")


def stat_cpu(pid: int) -> tuple[float, float]:
    """(own, reaped children) CPU seconds of ``pid`` from ``/proc/PID/stat``."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()
    utime, stime, cutime, cstime = (int(v) for v in fields[11:15])
    return (utime + stime) / TICK, (cutime + cstime) / TICK


def half(launcher: LaneLauncher, orchestrator: Orchestrator, repo: Path,
         identifier: str) -> tuple[float, float]:
    """(CPU s of the forked lane's whole tree, wall s) of one lane run."""
    log = repo / ".maestro" / "logs" / f"{identifier}.log"
    started = time.perf_counter()
    process = launcher.start(orchestrator.lane_command(identifier), repo, log)
    pidfd = os.pidfd_open(process.pid)
    select.select([pidfd], [], [])
    wall = time.perf_counter() - started
    own, children = stat_cpu(process.pid)  # before wait(): the zombie still holds it
    os.close(pidfd)
    if process.wait() != 0:
        raise SystemExit(f"lane {identifier} exited {process.returncode}:\n"
                         f"{log.read_text()[-3000:]}")
    return own + children, wall


def main() -> int:
    repo, identifier = Path(sys.argv[1]).resolve(), sys.argv[2]
    os.chdir(repo)
    config = parse_config_file(repo / "maestro.toml")
    orchestrator = Orchestrator(config)
    launcher = LaneLauncher(lambda text: print(text, file=sys.stderr),
                            config.state_root / "logs", warm=True)
    began = time.perf_counter()
    launcher.prepare(repo)
    zygote = launcher.zygote
    if zygote is None or not zygote.wait_ready(120):
        raise SystemExit("the zygote did not start")
    ready = time.perf_counter() - began
    try:
        first = half(launcher, orchestrator, repo, identifier)
        subprocess.run([sys.executable, "-m", "maestro", "review", "approve", identifier],
                       cwd=repo, capture_output=True, check=True)
        second = half(launcher, orchestrator, repo, identifier)
        zygote_cpu = sum(stat_cpu(zygote.pid)[:1])  # its own: the lanes are its children
    finally:
        launcher.close()
    if launcher.cold_starts or launcher.warm_starts != 2:
        raise SystemExit(f"{launcher.cold_starts} of the dispatches started cold")
    if not (config.state_root / "lanes" / identifier / "cleanup.json").exists():
        raise SystemExit("the lane did not finish")
    print(json.dumps({"cpu": [first[0], second[0]], "wall": [first[1], second[1]],
                      "zygote_cpu": zygote_cpu, "zygote_ready_s": ready}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
