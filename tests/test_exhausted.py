"""A full disk or a process out of file descriptors is an operator's matter: the daemon
warns and ticks on, a command says so in one line; nothing else changes."""

from __future__ import annotations

import errno

import pytest

import maestro.cli
from maestro.errors import exhausted
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
