"""One poll loop per repository: a second daemon, or a tick beside a daemon, exits 3."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from maestro.errors import DaemonRunningError
from maestro.orchestration.daemon_lock import (
    HOLDER_FILE,
    REPOSITORY_LOCK_FILE,
    holding_loop_lock,
)
from tests.conftest import Sandbox

PATIENCE_S = 60.0


@pytest.fixture
def first_daemon(sandbox: Sandbox) -> Iterator[subprocess.Popen[bytes]]:
    """A real ``maestro daemon`` that holds the lock (its holder file names it)."""
    proc = subprocess.Popen([sys.executable, "-m", "maestro", "daemon", "--poll-interval-s",
                             "3600"], cwd=sandbox.repo, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    holder = sandbox.repo / ".maestro" / HOLDER_FILE
    deadline = time.monotonic() + PATIENCE_S
    while not (holder.exists() and json.loads(holder.read_text()).get("pid") == proc.pid):
        assert proc.poll() is None, "the first daemon exited"
        assert time.monotonic() < deadline, "the first daemon never took the lock"
        time.sleep(0.05)
    yield proc
    proc.terminate()
    proc.wait(timeout=PATIENCE_S)


def test_second_daemon_exits_3_naming_the_holder(
        sandbox: Sandbox, first_daemon: subprocess.Popen[bytes]) -> None:
    second = sandbox.maestro("daemon", "--poll-interval-s", "3600", timeout=PATIENCE_S)
    assert second.returncode == 3
    assert f"pid {first_daemon.pid}" in second.stderr
    assert "Traceback" not in second.stderr


def test_run_once_beside_a_daemon_exits_3(
        sandbox: Sandbox, first_daemon: subprocess.Popen[bytes]) -> None:
    sandbox.add_issue("DL-1")
    tick = sandbox.maestro("run", "--once")
    assert tick.returncode == 3
    assert sandbox.issue("DL-1").state == "Todo"


def test_dry_run_beside_a_daemon_shows_the_plan(
        sandbox: Sandbox, first_daemon: subprocess.Popen[bytes]) -> None:
    sandbox.add_issue("DL-2")
    plan = sandbox.maestro("run", "--once", "--dry-run", "--json", check=True)
    assert [item["issue"] for item in json.loads(plan.stdout)["dispatch"]] == ["DL-2"]


def test_a_config_with_another_state_root_on_the_same_repository_exits_3(
        sandbox: Sandbox, first_daemon: subprocess.Popen[bytes]) -> None:
    sandbox.add_issue("DL-3")
    other = sandbox.repo / "other.toml"
    config = (sandbox.repo / "maestro.toml").read_text()
    assert 'state_root = ".maestro"' in config
    other.write_text(config.replace('state_root = ".maestro"', 'state_root = ".other-state"'))
    tick = sandbox.maestro("--config", str(other), "run", "--once", timeout=PATIENCE_S)
    assert tick.returncode == 3
    assert f"pid {first_daemon.pid}" in tick.stderr
    assert sandbox.issue("DL-3").state == "Todo"


def test_lock_of_a_killed_daemon_is_taken_over(
        sandbox: Sandbox, first_daemon: subprocess.Popen[bytes]) -> None:
    first_daemon.kill()
    first_daemon.wait()
    second = sandbox.maestro("daemon", "--poll-interval-s", "0.1", "--max-ticks", "1",
                             timeout=PATIENCE_S)
    assert second.returncode == 0, second.stderr


def test_lock_is_released_when_the_loop_ends(tmp_path: Path) -> None:
    with holding_loop_lock(tmp_path, "first"):
        pass
    with holding_loop_lock(tmp_path, "second"):
        assert json.loads((tmp_path / HOLDER_FILE).read_text())["command"] == "second"
    assert not (tmp_path / HOLDER_FILE).exists()


def test_lock_held_refuses_in_the_same_process(tmp_path: Path) -> None:
    with (holding_loop_lock(tmp_path, "first"), pytest.raises(DaemonRunningError) as refused,
          holding_loop_lock(tmp_path, "second")):
        pass
    assert refused.value.exit_code == 3


def test_a_lock_that_cannot_be_opened_is_a_one_line_error_naming_it(sandbox: Sandbox) -> None:
    (sandbox.repo / ".git" / REPOSITORY_LOCK_FILE).mkdir()
    tick = sandbox.maestro("run", "--once", timeout=PATIENCE_S)
    assert tick.returncode != 0
    [line] = tick.stderr.strip().splitlines()
    assert line.startswith("maestro: error: ") and REPOSITORY_LOCK_FILE in line


def test_a_later_holders_description_is_left_when_the_loop_ends(tmp_path: Path) -> None:
    with holding_loop_lock(tmp_path, "first"):
        # The lock file was removed and a second loop took a new one: its holder file.
        (tmp_path / HOLDER_FILE).write_text(json.dumps({"pid": 999_999_999}))
    assert json.loads((tmp_path / HOLDER_FILE).read_text())["pid"] == 999_999_999
