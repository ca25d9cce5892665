"""Dispatch start-up, cold against warm lane workers, in one run.

One sandbox, lanes started one at a time exactly as the daemon starts them
(:class:`~maestro.orchestration.warm.launcher.LaneLauncher` with the daemon's own lane
command), alternating a cold start (a fresh ``python -m maestro lane ID``) and a warm one
(forked by a zygote that is already running, as in a daemon's steady state). Per lane:

- dispatch → lane at work: until the lane holds its lock (``holder.json`` written);
- dispatch → agent's first event (``activity.json`` counts an event);
- daemon's share: the time ``start`` itself blocks the daemon's tick;
- lane CPU: user+system of the lane process itself, and with its reaped children (the
  agent, git, validation), read from ``/proc/PID/stat`` while it is an unreaped zombie.

Every lane goes to review with the scripted agent. Run: python bench/bench_dispatch_start.py
"""

from __future__ import annotations

import json
import os
import select
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import commit, empty_sandbox, wall_times

from maestro.config.service import parse_config_file
from maestro.orchestration.orchestrator import Orchestrator
from maestro.orchestration.warm.launcher import LaneLauncher
from maestro.trackers.files import FilesTracker

PAIRS = 5
TICK = os.sysconf("SC_CLK_TCK")


def first_event(lane: Path) -> bool:
    try:
        activity = json.loads((lane / "activity.json").read_text())
    except (OSError, ValueError):
        return False
    return int(activity.get("event_count") or 0) > 0


def cpu_of_zombie(pid: int) -> tuple[float, float]:
    """(own, own + reaped children) CPU seconds of an exited, unreaped process."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()
    utime, stime, cutime, cstime = (int(v) for v in fields[11:15])
    return (utime + stime) / TICK, (utime + stime + cutime + cstime) / TICK


def run_lane(launcher: LaneLauncher, orchestrator: Orchestrator, repo: Path,
             identifier: str) -> dict[str, float]:
    lane_dir = repo / ".maestro" / "lanes" / identifier
    log = repo / ".maestro" / "logs" / f"{identifier}.log"
    started = time.monotonic()
    process = launcher.start(orchestrator.lane_command(identifier), repo, log)
    blocked = time.monotonic() - started
    pidfd = os.pidfd_open(process.pid)
    at_work = agent = None
    while not select.select([pidfd], [], [], 0.002)[0]:
        now = time.monotonic()
        if at_work is None and (lane_dir / "holder.json").exists():
            at_work = now - started
        if agent is None and at_work is not None and first_event(lane_dir):
            agent = now - started
    own, total = cpu_of_zombie(process.pid)  # before wait(): the zombie still holds it
    os.close(pidfd)
    if process.wait() != 0 or agent is None or at_work is None:
        raise SystemExit(f"{identifier} did not reach review:\n{log.read_text()[-2000:]}")
    return {"blocked": blocked, "at_work": at_work, "agent": agent, "cpu": own,
            "cpu_total": total}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        repo, _ = empty_sandbox(Path(tmp) / "box")
        tracker = FilesTracker(repo / "issues", "DS")
        for n in range(2 * PAIRS):
            tracker.create(f"start {n}", "Add a note.", identifier=f"DS-{n}")
        config = parse_config_file(repo / "maestro.toml")
        orchestrator = Orchestrator(config)
        cold = LaneLauncher(print, None)
        warm = LaneLauncher(print, config.state_root / "logs", warm=True)
        began = time.monotonic()
        warm.prepare(repo)
        assert warm.zygote is not None and warm.zygote.wait_ready(60)
        zygote_ready = time.monotonic() - began
        rows: dict[str, list[dict[str, float]]] = {"cold": [], "warm": []}
        try:
            for n in range(PAIRS):
                order = ("cold", "warm") if n % 2 == 0 else ("warm", "cold")
                for k, kind in enumerate(order):
                    launcher = cold if kind == "cold" else warm
                    rows[kind].append(run_lane(launcher, orchestrator, repo,
                                               f"DS-{2 * n + k}"))
        finally:
            warm.close()
        if warm.cold_starts:
            raise SystemExit(f"{warm.cold_starts} warm dispatches fell back to cold")
        baseline = statistics.median(wall_times([sys.executable, "-c", "pass"], repo, 10))
    print(f"### Dispatch start-up, cold vs warm ({PAIRS} lanes each, alternating, "
          f"{time.strftime('%Y-%m-%d')}, commit {commit()})\n")
    print("| measure (median) | cold | warm | warm / cold |")
    print("| --- | --- | --- | --- |")
    for key, label, unit in (
            ("at_work", "dispatch → lane holds its lock", "ms"),
            ("agent", "dispatch → agent's first event", "ms"),
            ("blocked", "daemon blocked in `start`", "ms"),
            ("cpu", "lane process CPU (own)", "ms"),
            ("cpu_total", "lane CPU with agent, git, validation", "ms")):
        c = statistics.median(r[key] for r in rows["cold"]) * 1000
        w = statistics.median(r[key] for r in rows["warm"]) * 1000
        print(f"| {label} | {c:.0f} {unit} | {w:.0f} {unit} | {w / c:.2f} |")
    print(f"\n`python -c pass` in the same run: {baseline * 1000:.0f} ms; the zygote was "
          f"ready {zygote_ready * 1000:.0f} ms after it was started (paid once per daemon, "
          "per code change and per `warm_restart_after_lanes` lanes).")


if __name__ == "__main__":
    main()
