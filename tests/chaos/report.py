"""What a chaos run reports: its kills, its violations, and how to replay it.

A :class:`RunReport` lists each kill (:class:`KillRecord`: the instant, the lanes whose lock
was held and their phase, what the kill left behind, the daemon's last plan) and each
violation with the kill after which it was first seen (0: found at the end).
:func:`suspects` names the kills to look at for violations found only at the end, and
:func:`describe` turns a failed run into the lines a person reads, replay commands
included.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from tests.chaos.scenario import PREFIX


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
