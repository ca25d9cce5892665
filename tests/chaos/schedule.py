"""Kill schedules: which process to SIGKILL, and how long after the daemon's first tick.

A schedule is drawn from a seed (:func:`draw`), so ``--seed N`` replays it, or written out
(:func:`parse`, the ``--schedule`` text ``group@1.250,daemon@0.400``), so one run's exact
kills, or the prefix up to the kill after which an invariant broke, replay alone.

``group`` kills the daemon's whole process group (the daemon, its lane processes, their
agents and git children: a power cut). ``daemon`` kills the daemon alone; its lanes go on
as orphans, as after an OOM kill of the poll loop.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

MODES = ("group", "daemon")
#: Share of kills that hit the daemon alone.
DAEMON_SHARE = 0.3


@dataclass(frozen=True)
class Kill:
    mode: str
    #: seconds after the daemon wrote its first tick (it dispatched what it found then)
    delay_s: float

    def __str__(self) -> str:
        return f"{self.mode}@{self.delay_s:.3f}"


def draw(seed: int, kills: int, min_delay_s: float, max_delay_s: float) -> list[Kill]:
    """``kills`` kills with delays uniform in [min, max] seconds; the same seed, the same
    list."""
    rng = random.Random(seed)
    return [Kill("daemon" if rng.random() < DAEMON_SHARE else "group",
                 round(rng.uniform(min_delay_s, max_delay_s), 3)) for _ in range(kills)]


def parse(text: str) -> list[Kill]:
    """``group@1.25,daemon@0.4`` -> kills; raises ``ValueError`` naming the bad item."""
    result = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        mode, _, delay = item.partition("@")
        try:
            seconds = float(delay)
        except ValueError:
            raise ValueError(f"--schedule: {item!r}: expected MODE@SECONDS") from None
        if mode not in MODES or seconds < 0:
            raise ValueError(f"--schedule: {item!r}: MODE is one of {MODES}, SECONDS >= 0")
        result.append(Kill(mode, seconds))
    return result


def render(kills: list[Kill]) -> str:
    return ",".join(str(kill) for kill in kills)
