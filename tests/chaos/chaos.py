"""The chaos series: a daemon over eight issues, SIGKILLed at random instants, until done.

One *run* builds a fresh sandbox (:mod:`tests.chaos.scenario`: a repository with a bare
origin, the files tracker, the local forge, the scripted agent), then for each kill of its
schedule starts ``maestro daemon``, lets it work for the kill's delay after its first tick
while the scripted reviewer (:mod:`tests.chaos.reviewer`) approves PRs, and SIGKILLs the
daemon's process group or the daemon alone. After the last kill a daemon runs undisturbed
until every issue reached its end state, or nothing changed for the quiet window, or the
settle deadline passed; then it is stopped and the invariants
(:mod:`tests.chaos.invariants`) are checked.

After every kill the ongoing invariants (at most one merge per branch, no duplicated
comment, no file removed from origin ``main`` that no lane deletes) are checked too, so a
report names the kill after which a violation was first seen, with the lanes that kill
hit and the phase each was in.

    python -m tests.chaos.chaos --seed 1 --kills 20          # one run
    python -m tests.chaos.chaos --seed 1 --runs 5 --kills 12  # seeds 1..5
    python -m tests.chaos.chaos --schedule group@1.2,daemon@0.8  # replay exact kills

Exit status: 0 when every run kept every invariant, 1 otherwise, 2 on bad arguments.
Sandboxes of failed runs are kept (their path is printed); ``--keep`` keeps all.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tests.chaos import invariants, procs, schedule
from tests.chaos.invariants import Violation, World
from tests.chaos.report import KillRecord, RunReport, describe, summary
from tests.chaos.reviewer import Reviewer
from tests.chaos.scenario import ISSUES, Chaos, build, expected_tree, tree_of
from tests.chaos.schedule import Kill
from tests.chaos.watch import fingerprint, finished, lanes_hit, left_behind, plan_summary

POLL_INTERVAL_S = 0.2
FIRST_TICK_TIMEOUT_S = 30.0
#: seconds from ``maestro daemon``'s start to its first tick on an idle 2-core machine
REFERENCE_READY_S = 1.0
REVIEW_EVERY_S = 0.25


@dataclass(frozen=True)
class Settings:
    min_delay_s: float = 0.0
    max_delay_s: float = 5.0
    #: the settle phase ends when nothing changed for this long
    quiet_s: float = 10.0
    settle_timeout_s: float = 180.0
    #: stretch delays on a loaded machine (:meth:`Run.slowness`)
    scale_delays: bool = True


# -- one run ----------------------------------------------------------------------------------


class Run:
    def __init__(self, root: Path, kills: list[Kill], settings: Settings,
                 issues: tuple[Chaos, ...] = ISSUES, say: Callable[[str], None] = print
                 ) -> None:
        self.root = root
        self.kills = kills
        self.settings = settings
        self.issues = issues
        self.say = say
        self.repo, self.origin = build(root, issues)
        initial = tree_of(self.origin, "main")
        self.expected = expected_tree(initial, issues)
        self.deletable = invariants.deletable_files(issues)
        self.reviewer = Reviewer(self.repo, issues)
        self.groups = procs.Groups()
        self.started = time.monotonic()
        self.daemons = 0
        self.previous: World | None = None

    def observe(self) -> World:
        return invariants.observe(self.repo, self.origin, self.issues, self.expected,
                                  self.deletable)

    def daemon(self) -> subprocess.Popen[bytes]:
        self.daemons += 1
        return self.groups.start_daemon(self.repo, self.root / f"daemon-{self.daemons}.log",
                                         POLL_INTERVAL_S)

    def wait_first_tick(self, process: subprocess.Popen[bytes]) -> float:
        """Wait until the new daemon wrote its first tick (it has dispatched what it found);
        returns the seconds that took. Kill delays count from there, so a loaded machine's
        slow interpreter start does not swallow them."""
        started, since_ns = time.monotonic(), time.time_ns()
        tick = self.repo / ".maestro" / "last_tick.json"
        deadline = started + FIRST_TICK_TIMEOUT_S
        while time.monotonic() < deadline and process.poll() is None:
            with contextlib.suppress(FileNotFoundError):
                if tick.stat().st_mtime_ns >= since_ns:
                    break
            time.sleep(0.02)
        return time.monotonic() - started

    def wait_lane_busy(self, process: subprocess.Popen[bytes], cap_s: float) -> float:
        """Wait until some lane holds its lock (a lane process is past its start-up), at
        most ``cap_s``; returns the seconds waited. The kill's delay counts from there, so
        it lands inside lane work, not in interpreter start-up; when no lane starts (all
        wait for a review, say) the cap keeps the kill coming."""
        started = reviewed = time.monotonic()
        lanes = self.repo / ".maestro" / "lanes"
        while time.monotonic() - started < cap_s and process.poll() is None:
            locks = invariants.held_locks()
            if lanes.is_dir() and any(invariants.lock_held(lane / "lane.lock", locks)
                                      for lane in lanes.iterdir()):
                break
            if time.monotonic() - reviewed > REVIEW_EVERY_S:
                self.reviewer.review_pass()
                reviewed = time.monotonic()
            time.sleep(0.02)
        return time.monotonic() - started

    def slowness(self, ready_s: float) -> float:
        """How much slower than an idle machine this one is now, judged by the daemon's
        time to its first tick (interpreter start and one tick, ``REFERENCE_READY_S`` when
        idle). Delays are idle-machine seconds: on a loaded machine, where every lane
        process also starts slower, they stretch alike and still land inside lanes."""
        if not self.settings.scale_delays:
            return 1.0
        return max(1.0, ready_s / REFERENCE_READY_S)

    def review_until(self, deadline: float) -> None:
        """Act as the reviewer until ``deadline`` (monotonic seconds)."""
        while (left := deadline - time.monotonic()) > 0:
            if left > 0.1:
                self.reviewer.review_pass()
            time.sleep(min(REVIEW_EVERY_S, max(deadline - time.monotonic(), 0)))

    def ongoing(self, report: RunReport, index: int) -> None:
        world = self.observe()
        found = invariants.check(world, invariants.ONGOING_CHECKS)
        if self.previous is not None:
            found += invariants.lost_since(self.previous, world)
        for violation in found:
            report.first_seen.setdefault(str(violation), index)
        self.previous = world

    def run(self, report: RunReport) -> None:
        self.previous = self.observe()
        for index, kill in enumerate(self.kills, start=1):
            if finished(self.repo, self.issues) and not self.groups.live():
                self.say(f"  all issues settled before kill {index}; "
                         f"{len(self.kills) - index + 1} kills unused")
                break
            process = self.daemon()
            ready_s = self.wait_first_tick(process)
            slowness = self.slowness(ready_s)
            busy_s = self.wait_lane_busy(process, self.settings.max_delay_s * slowness)
            wait_s = kill.delay_s * slowness
            self.review_until(time.monotonic() + wait_s)
            plan = plan_summary(self.repo)
            if process.poll() is not None:
                report.first_seen.setdefault(
                    f"daemon_alive: daemon exited by itself (status {process.returncode}) "
                    f"before kill {index}; see {self.root}/daemon-{self.daemons}.log", index)
            hit = lanes_hit(self.repo)
            procs.kill(process, kill.mode)
            record = KillRecord(index, str(kill), round(time.monotonic() - self.started, 3),
                                round(ready_s, 3), round(busy_s, 3), round(wait_s, 3),
                                plan, hit,
                                left_behind(self.repo, self.origin))
            report.kills.append(record)
            self.say(f"  kill {index:>2} {kill!s:<14} t={record.at_s:6.2f}s "
                     f"(tick {record.ready_s:3.1f}s, lane {record.busy_s:3.1f}s, "
                     f"then {record.wait_s:3.1f}s)  hit "
                     + (", ".join(f"{k}:{v}" for k, v in hit.items()) or "no lane")
                     + ("  left " + "; ".join(record.left) if record.left else "")
                     + f"\n{'':22}plan: {plan}")
            self.ongoing(report, index)
        report.settled = self.settle(report)

    def settle(self, report: RunReport) -> bool:
        """Run a daemon undisturbed until done, quiet or out of time; True when done."""
        process = self.daemon()
        deadline = time.monotonic() + self.settings.settle_timeout_s
        last, quiet_since, done = None, time.monotonic(), False
        try:
            while time.monotonic() < deadline:
                self.review_until(time.monotonic() + 0.5)
                lanes_alive = self.groups.live(exclude=process.pid)
                if finished(self.repo, self.issues) and not lanes_alive:
                    done = True
                    break
                now = fingerprint(self.repo, self.origin)
                if now != last or lanes_alive:
                    last, quiet_since = now, time.monotonic()
                elif time.monotonic() - quiet_since > self.settings.quiet_s:
                    break
                if process.poll() is not None:
                    report.first_seen.setdefault(
                        f"daemon_alive: settle daemon exited (status {process.returncode})", 0)
                    process = self.daemon()
        finally:
            report.final_plan = plan_summary(self.repo)
            procs.stop(process)
        for pid, argv in procs.wait_gone(self.groups, 15.0):
            report.first_seen.setdefault(
                f"no_live_process: {pid} still running after the daemon stopped: {argv}", 0)
        self.ongoing(report, 0)
        return done


def run_one(kills: list[Kill], settings: Settings, seed: int | None = None,
            workdir: Path | None = None, keep: bool = False,
            say: Callable[[str], None] = print) -> RunReport:
    """One sandbox, one schedule; the report lists every violation found."""
    root = Path(tempfile.mkdtemp(prefix=f"chaos-{seed if seed is not None else 'x'}-",
                                 dir=workdir))
    report = RunReport(seed, schedule.render(kills), sandbox=str(root))
    started = time.monotonic()
    run = Run(root, kills, settings, say=say)
    try:
        run.run(report)
    finally:
        run.groups.kill_all()
    final = invariants.check(run.observe())
    if not report.settled:
        final.append(Violation("settled", "run", "the daemon did not bring every issue to "
                               f"its end state (quiet {settings.quiet_s:g}s or timeout)"))
    for violation in final:
        report.first_seen.setdefault(str(violation), 0)
    report.violations = sorted(report.first_seen, key=lambda v: (report.first_seen[v], v))
    report.seconds = round(time.monotonic() - started, 2)
    if report.ok and not keep:
        shutil.rmtree(root, ignore_errors=True)
    return report


# -- command line -----------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos.chaos",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1, help="first seed (default 1)")
    parser.add_argument("--runs", type=int, default=1, help="consecutive seeds to run")
    parser.add_argument("--kills", type=int, default=10, help="kills per run")
    parser.add_argument("--schedule", help="explicit kills, e.g. group@1.2,daemon@0.8 "
                        "(replays one run; --seed/--runs/--kills are ignored)")
    parser.add_argument("--min-delay", type=float, default=Settings.min_delay_s)
    parser.add_argument("--max-delay", type=float, default=Settings.max_delay_s)
    parser.add_argument("--quiet", type=float, default=Settings.quiet_s,
                        help="settle ends when nothing changed for this long (s)")
    parser.add_argument("--settle-timeout", type=float, default=Settings.settle_timeout_s)
    parser.add_argument("--no-scale", action="store_true",
                        help="wait exactly the drawn delays, however loaded the machine is")
    parser.add_argument("--workdir", type=Path, help="where sandboxes go (default: $TMPDIR)")
    parser.add_argument("--keep", action="store_true", help="keep every sandbox")
    parser.add_argument("--json", type=Path, help="write the reports to this file")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.kills < 0:
        parser.error("--runs must be >= 1 and --kills >= 0")
    if not 0 <= args.min_delay <= args.max_delay:
        parser.error("expected 0 <= --min-delay <= --max-delay")
    if args.schedule is not None:
        try:
            args.kill_list = schedule.parse(args.schedule)
        except ValueError as exc:
            parser.error(str(exc))
    return args


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    # SIGTERM and SIGINT (ignored in background jobs of a non-interactive shell) both unwind
    # through the cleanup that kills every process group the run started.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _interrupt)
    settings = Settings(args.min_delay, args.max_delay, args.quiet, args.settle_timeout,
                        scale_delays=not args.no_scale)
    plans: list[tuple[int | None, list[Kill]]]
    if args.schedule is not None:
        plans = [(None, args.kill_list)]
    else:
        plans = [(seed, schedule.draw(seed, args.kills, args.min_delay, args.max_delay))
                 for seed in range(args.seed, args.seed + args.runs)]
    reports = []
    for seed, kills in plans:
        name = f"seed {seed}" if seed is not None else "replay"
        print(f"chaos: {name}: schedule {schedule.render(kills) or '(no kill)'}", flush=True)
        report = run_one(kills, settings, seed, args.workdir, args.keep,
                         say=lambda line: print(line, flush=True))
        reports.append(report)
        print("\n".join(describe(report)), flush=True)
    print("\n".join(summary(reports)))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in reports], indent=1))
    return 0 if all(r.ok for r in reports) else 1


if __name__ == "__main__":
    raise SystemExit(main())
