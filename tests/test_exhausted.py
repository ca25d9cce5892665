"""A full disk or a process out of file descriptors is an operator's matter: the daemon
warns and ticks on, a command says so in one line, and a lane whose processes keep ending
without a record (nothing could be written) is not started again by the daemon."""

from __future__ import annotations

import errno
import time

import pytest

import maestro.cli
from maestro.errors import exhausted
from maestro.lanes.record.state import LaneState
from maestro.orchestration.orchestrator import Orchestrator
from tests.conftest import Sandbox


@pytest.mark.parametrize(("code", "says"), [
    (errno.ENOSPC, "free some space"),
    (errno.EDQUOT, "free some space"),
    (errno.EMFILE, "raise the open-file limit"),
    (errno.ENFILE, "raise the open-file limit"),
])
def test_running_out_of_space_or_descriptors_is_told_with_the_way_on(code: int,
                                                                      says: str) -> None:
    message = exhausted(OSError(code, "out", "/state/lanes/X-1/activity.json"))
    assert message is not None
    assert message.startswith("out: /state/lanes/X-1/activity.json; ") and says in message


def test_any_other_os_error_is_not_taken_for_exhaustion() -> None:
    assert exhausted(OSError(errno.EACCES, "Permission denied", "/x")) is None


def test_the_daemon_warns_and_ticks_on_when_a_tick_finds_the_disk_full(
        sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    orchestrator = Orchestrator(sandbox.config)
    ticks: list[int] = []
    real_tick = orchestrator.tick

    def tick(wait: bool = True) -> object:
        ticks.append(1)
        if len(ticks) == 1:
            raise OSError(errno.ENOSPC, "No space left on device", "/state/last_tick.json")
        return real_tick(wait)

    monkeypatch.setattr(orchestrator, "tick", tick)
    orchestrator.daemon(poll_interval_s=0.01, max_ticks=2)
    assert len(ticks) == 2
    warnings = (sandbox.config.state_root / "warnings.log").read_text()
    assert "tick cut short: No space left on device: /state/last_tick.json" in warnings


def test_a_command_that_finds_the_disk_full_says_so_in_one_line(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def full(args: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device", "/state/lanes/X-1/lease.json")

    monkeypatch.setattr(maestro.cli, "cmd_status", full)
    with pytest.raises(SystemExit) as stopped:
        maestro.cli.main(["status"])
    assert stopped.value.code == 1
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        "maestro: error: No space left on device: /state/lanes/X-1/lease.json; free some "
        "space, then run the command again"]


def test_a_lane_whose_processes_keep_ending_without_a_record_is_held_by_the_daemon(
        sandbox: Sandbox) -> None:
    sandbox.add_issue("FULL-1")
    orchestrator = Orchestrator(sandbox.config)
    for _ in range(3):  # each start may run the agent; each end could record nothing
        orchestrator.started_at["FULL-1"] = time.time()
        orchestrator.after_lane("FULL-1", 1)
    [waiting] = orchestrator.plan(dry_run=True).as_dict()["waiting"]
    assert waiting["issue"] == "FULL-1"
    assert "ended without recording why" in waiting["reason"]


def test_an_end_that_recorded_its_outcome_resets_the_count(sandbox: Sandbox) -> None:
    sandbox.add_issue("FULL-2")
    orchestrator = Orchestrator(sandbox.config)
    for _ in range(2):
        orchestrator.started_at["FULL-2"] = time.time()
        orchestrator.after_lane("FULL-2", 1)
    orchestrator.started_at["FULL-2"] = time.time() - 1
    LaneState(sandbox.config.lanes_root, "FULL-2").write(
        "outcome.json", {"outcome": "retry", "phase": "agent"})
    orchestrator.after_lane("FULL-2", 1)
    assert "FULL-2" not in orchestrator.silent_ends
