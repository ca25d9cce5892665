"""The live pages' watcher looks at a finished lane by two ``stat`` calls, not a scan."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from maestro.config.service import ServiceConfig
from maestro.fsutil import RACY_S, StatIdentity, write_json
from maestro.operator import changes
from maestro.operator.changes import LaneWatcher, SeenLane, still_holds

OLD = time.time_ns() - int(10 * RACY_S * 1e9)
FOLDER = StatIdentity(dev=1, ino=2, size=4096, mtime_ns=OLD, ctime_ns=OLD)
JOURNAL = StatIdentity(dev=1, ino=3, size=120, mtime_ns=OLD, ctime_ns=OLD)
GROWN = JOURNAL._replace(size=180)


def seen(finished: bool = True, settled: bool = True) -> SeenLane:
    return SeenLane((3, 100, OLD, 9), finished, (FOLDER, JOURNAL), settled)


@pytest.mark.parametrize(("last", "now", "holds"), [
    (seen(), (FOLDER, JOURNAL), True),                   # finished, settled, unmoved
    (seen(finished=False), (FOLDER, JOURNAL), False),    # a running lane is always scanned
    (seen(settled=False), (FOLDER, JOURNAL), False),     # a write may share the clock tick
    (seen(), (FOLDER, GROWN), False),                    # an operator's journal line
    (seen(), (FOLDER._replace(mtime_ns=OLD + 1), JOURNAL), False),  # a file renamed in
    (seen(), (None, None), False),                       # the folder is gone
    (None, (FOLDER, JOURNAL), False),                    # never looked at
])
def test_a_lanes_last_print_holds_only_for_a_finished_settled_unmoved_lane(
        last: SeenLane | None, now: tuple[StatIdentity | None, StatIdentity | None],
        holds: bool) -> None:
    assert still_holds(last, now) is holds


def age(path: Path) -> None:
    os.utime(path, ns=(OLD, OLD))  # mtime set back: ctime moves, a later write moves both


@pytest.fixture
def finished_lane(tmp_path: Path) -> tuple[ServiceConfig, Path]:
    config = ServiceConfig().resolved(tmp_path)
    folder = config.lanes_root / "A-1"
    folder.mkdir(parents=True)
    write_json(folder / "cleanup.json", {"at": "2026-01-01T00:00:00+00:00"})
    (folder / "journal.jsonl").write_text('{"event": "cleaned"}\n')
    age(folder / "journal.jsonl")
    age(folder)
    return config, folder


def scans_of(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    scanned: list[Path] = []
    real = changes._folder

    def counting(path: Path) -> tuple[int, int, int, int]:
        scanned.append(path)
        return real(path)

    monkeypatch.setattr(changes, "_folder", counting)
    return scanned


def test_a_finished_lane_that_did_not_move_is_not_scanned_again(
        finished_lane: tuple[ServiceConfig, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    config, folder = finished_lane
    scanned = scans_of(monkeypatch)
    watcher = LaneWatcher(config, interval_s=0)
    first = watcher.poll()
    assert watcher.poll() == watcher.poll() == first
    assert scanned.count(folder) == 1


def test_a_line_appended_to_a_finished_lanes_journal_is_seen(
        finished_lane: tuple[ServiceConfig, Path]) -> None:
    config, folder = finished_lane
    watcher = LaneWatcher(config, interval_s=0)
    first = watcher.poll()
    with (folder / "journal.jsonl").open("a") as handle:
        handle.write('{"event": "operator_refused"}\n')
    assert watcher.poll() == first + 1
    assert watcher.changed_since(first) == {"A-1"}


def test_a_file_written_into_a_finished_lane_is_seen(
        finished_lane: tuple[ServiceConfig, Path]) -> None:
    config, folder = finished_lane
    watcher = LaneWatcher(config, interval_s=0)
    first = watcher.poll()
    write_json(folder / "retry.json", {"by": "operator"})
    assert watcher.poll() == first + 1


def test_a_lane_no_longer_finished_is_scanned_on_every_look(
        finished_lane: tuple[ServiceConfig, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    config, folder = finished_lane
    watcher = LaneWatcher(config, interval_s=0)
    watcher.poll()
    (folder / "cleanup.json").unlink()
    age(folder)
    scanned = scans_of(monkeypatch)
    watcher.poll()
    watcher.poll()
    assert scanned.count(folder) == 2


def test_a_finished_lane_archived_and_made_again_is_seen(
        finished_lane: tuple[ServiceConfig, Path]) -> None:
    config, folder = finished_lane
    watcher = LaneWatcher(config, interval_s=0)
    first = watcher.poll()
    os.rename(folder, folder.with_name(".A-1.archived"))
    folder.mkdir()
    write_json(folder / "lease.json", {"state_at_claim": "Todo"})
    assert watcher.poll() == first + 1
    assert "A-1" in (watcher.changed_since(first) or set())
