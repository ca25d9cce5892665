"""The short chaos series CI runs: two seeds, four random SIGKILLs each, every invariant.

The long series is ``nox -s chaos`` (docs/reliability.md). A failure prints the violated
invariants, the kill after which each was first seen (with the lanes it hit and their
phase) and the commands that replay the run.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chaos import schedule
from tests.chaos.chaos import Settings, run_one
from tests.chaos.report import describe

SEEDS = (1, 2)
#: About 25 s a seed on an idle 2-core machine; delays stretch with the load (chaos.py).
KILLS = 4
SETTINGS = Settings(min_delay_s=0.0, max_delay_s=4.0, quiet_s=10.0, settle_timeout_s=120.0)

pytestmark = [pytest.mark.chaos, pytest.mark.slow]


@pytest.mark.parametrize("seed", SEEDS)
def test_random_kills_of_the_daemon_keep_every_invariant(seed: int, tmp_path: Path) -> None:
    kills = schedule.draw(seed, KILLS, SETTINGS.min_delay_s, SETTINGS.max_delay_s)
    report = run_one(kills, SETTINGS, seed, workdir=tmp_path, say=lambda line: None)
    assert report.kills, "no kill was delivered: the series tested nothing"
    assert report.ok, "\n".join(describe(report))
