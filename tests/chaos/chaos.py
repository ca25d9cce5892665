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
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from maestro.lanes.state import PHASE_TARGETS
from tests.chaos import invariants, procs, schedule
from tests.chaos.invariants import Violation, World
from tests.chaos.reviewer import Reviewer
from tests.chaos.scenario import ISSUES, PREFIX, Chaos, build, expected_tree, tree_of
from tests.chaos.schedule import Kill

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


@dataclass
class KillRecord:
    index: int
    kill: str
    #: seconds since the run started
    at_s: float
    #: seconds the daemon took to its first tick (the kill's delay counts from there)
    ready_s: float
    #: seconds from the first tick until some lane held its lock (the cap if none did)
    busy_s: float
    #: seconds waited after that: the delay scaled by the machine's slowness
    wait_s: float
    #: the daemon's last plan before the kill, in short
    plan: str
    #: lanes whose lock was held at the instant: identifier -> phase
    hit: dict[str, str]
    #: what the kill left behind that is worth a look (locked worktrees, ...)
    left: list[str]


@dataclass
class RunReport:
    seed: int | None
    schedule: str
    kills: list[KillRecord] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    #: violation text -> index of the kill after which it was first seen (0: settle phase)
    first_seen: dict[str, int] = field(default_factory=dict)
    settled: bool = False
    #: the settle daemon's last plan: why what is left waits
    final_plan: str = ""
    seconds: float = 0.0
    sandbox: str = ""

    @property
    def ok(self) -> bool:
        return not self.violations


# -- observing -------------------------------------------------------------------------------


def _read(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def lane_phase(lane: Path) -> str:
    """The phase a live lane is in: the one its holder's heartbeat names, else the first
    phase whose target is missing, marked ``starting`` (the holder has not begun a phase)."""
    activity, holder = _read(lane / "activity.json"), _read(lane / "holder.json")
    if activity.get("phase") and activity.get("pid") == holder.get("pid"):
        return str(activity["phase"])
    for name, target in PHASE_TARGETS.items():
        if not (lane / target).exists():
            return f"{name} (starting)"
    return "finished (starting)"


def lanes_hit(repo: Path) -> dict[str, str]:
    root = repo / ".maestro" / "lanes"
    if not root.is_dir():
        return {}
    locks = invariants.held_locks()
    return {lane.name: lane_phase(lane) for lane in sorted(root.iterdir())
            if lane.is_dir() and invariants.lock_held(lane / "lane.lock", locks)}


def left_behind(repo: Path, origin: Path) -> list[str]:
    """What a kill may leave that nothing should: a lane worktree still locked by its
    ``git worktree add``, a check worktree of the local forge still registered in origin."""
    notes = []
    admin = repo / ".git" / "worktrees"
    for entry in sorted(admin.iterdir()) if admin.is_dir() else []:
        locked = entry / "locked"
        if locked.exists():
            notes.append(f"worktree {entry.name} locked: {locked.read_text().strip()!r}")
    admin = origin / "worktrees"
    for entry in sorted(admin.iterdir()) if admin.is_dir() else []:
        with contextlib.suppress(OSError):
            path = Path((entry / "gitdir").read_text().strip()).parent
            notes.append(f"origin check worktree {path}")
    return notes


def plan_summary(repo: Path) -> str:
    """The daemon's last tick in one line: what it dispatched, what waits and why."""
    plan = _read(repo / ".maestro" / "last_tick.json").get("plan") or {}
    parts = [f"{key} " + ", ".join(f"{item.get('issue')} ({item.get(why)})"
                                   for item in plan.get(key) or [])
             for key, why in (("dispatch", "reason"), ("reconcile", "action"),
                              ("retries_waiting", "kind"), ("waiting", "reason"))
             if plan.get(key)]
    return "; ".join(parts) or "nothing to do"


def fingerprint(repo: Path, origin: Path) -> tuple[Any, ...]:
    """Cheap summary of everything that moves when maestro makes progress."""
    stats = []
    for folder in (repo / "issues", repo / ".maestro" / "lanes", origin / "maestro-forge"):
        if folder.is_dir():
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    with_stat = path.stat()
                    stats.append((str(path), with_stat.st_size, with_stat.st_mtime_ns))
    refs = subprocess.run(["git", "for-each-ref"], cwd=origin, capture_output=True,
                          text=True, check=False).stdout
    return tuple(stats), refs


def finished(repo: Path, issues: tuple[Chaos, ...]) -> bool:
    """Every issue in its end state and every lane finished."""
    return not list(invariants.end_state_of(issues, *invariants.progress(repo)))


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


# -- reporting --------------------------------------------------------------------------------


def suspects(report: RunReport) -> dict[int, str]:
    """Kill index -> why it is suspected: the kill after which an ongoing invariant first
    broke; for an invariant checked at the end, per lane it names, the first kill that
    left something of that lane behind (a locked worktree), else the last kill that hit
    the lane while its process held it."""
    found = {index: "first seen after it" for index in report.first_seen.values() if index}
    at_end = [text for text in report.violations if not report.first_seen[text]]
    lanes = {lane.upper() for text in at_end
             for lane in re.findall(rf"{PREFIX}-\d+", text, re.IGNORECASE)}
    paths = {path for text in at_end for path in re.findall(r"/\S*maestro-checks-\S+", text)}
    for what in sorted(lanes | paths):
        left = [k for k in report.kills if any(what in note for note in k.left)]
        hits = [k for k in report.kills if what in k.hit]
        if left:
            found.setdefault(left[0].index, f"left {what} behind")
        elif hits:
            found.setdefault(hits[-1].index, f"last kill that hit {what}")
    return found


def replay_commands(report: RunReport) -> list[str]:
    base = "python -m tests.chaos.chaos"
    lines = []
    if report.seed is not None:
        lines.append(f"{base} --seed {report.seed} --kills {len(report.schedule.split(','))}")
    lines.append(f"{base} --schedule {report.schedule}")
    last = max(suspects(report), default=0)
    if last:
        prefix = ",".join(report.schedule.split(",")[:last])
        lines.append(f"{base} --schedule {prefix}   # up to kill {last}, the last suspect")
    return lines


def describe(report: RunReport) -> list[str]:
    head = (f"seed {report.seed}: " if report.seed is not None else "schedule: ")
    kills = len(report.kills)
    if report.ok:
        return [head + f"ok — {kills} kills, settled, every invariant held "
                f"({report.seconds:.1f}s)"]
    lines = [head + f"FAILED — {kills} kills, {len(report.violations)} violations "
             f"({report.seconds:.1f}s); sandbox kept at {report.sandbox}"]
    by_kill = {k.index: k for k in report.kills}
    for text in report.violations:
        index = report.first_seen[text]
        where = "at the end" if not index else f"after kill {index} ({by_kill[index].kill})"
        lines.append(f"  - {text}  [first seen {where}]")
    for index, why in sorted(suspects(report).items()):
        kill = by_kill[index]
        lines.append(f"  suspect kill {index} ({why}): {kill.kill} at t={kill.at_s}s hit "
                     + (", ".join(f"{k} in {v}" for k, v in kill.hit.items()) or "no lane")
                     + (f"; left {'; '.join(kill.left)}" if kill.left else "")
                     + f"; last plan: {kill.plan}")
    lines.append(f"  the settle daemon's last plan: {report.final_plan}")
    lines += ["  replay: " + line for line in replay_commands(report)]
    return lines


def summary(reports: list[RunReport]) -> list[str]:
    kills = sum(len(r.kills) for r in reports)
    failing = [r for r in reports if not r.ok]
    by_invariant: Counter[str] = Counter()
    seeds: dict[str, set[str]] = {}
    for report in failing:
        for text in report.violations:
            name = text.split(":", 1)[0]
            by_invariant[name] += 1
            seeds.setdefault(name, set()).add(str(report.seed if report.seed is not None
                                                   else "schedule"))
    lines = [f"chaos: {len(reports)} runs, {kills} kills, {len(reports) - len(failing)} runs "
             f"recovered with every invariant held, {len(failing)} failed"]
    per_kill = sum(r.seconds for r in reports) / kills if kills else 0.0
    lines.append(f"chaos: {sum(r.seconds for r in reports):.0f}s in all, "
                 f"{per_kill:.1f}s per kill")
    for name, count in sorted(by_invariant.items()):
        lines.append(f"chaos: {name}: {count} violations (seeds {', '.join(sorted(seeds[name]))})")
    return lines


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
