"""Warm lane workers: lanes forked by a zygote behave like cold ``python -m maestro`` lanes
(exit status, process group, signals, environment) and any zygote trouble means a cold
start, never a lost lane."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from maestro.orchestration.orchestrator import Orchestrator
from maestro.orchestration.warm import freshness
from maestro.orchestration.warm.client import WarmLane
from maestro.orchestration.warm.launcher import LaneLauncher
from maestro.orchestration.warm.protocol import maestro_command
from tests.conftest import Sandbox
from tests.test_orchestrator import SLOW as ORCHESTRATOR_SLOW
from tests.test_orchestrator import wait_for

MAESTRO = maestro_command()
SLOW = ORCHESTRATOR_SLOW.replace("sleep: 4", "sleep: 30")


@pytest.fixture
def launcher(tmp_path: Path) -> Iterator[LaneLauncher]:
    """A warm launcher; each test prepares it in its body, since pytest changes the
    environment (PYTEST_CURRENT_TEST) between set-up and call, which retires a zygote."""
    warnings: list[str] = []
    made = LaneLauncher(warnings.append, tmp_path / "logs", warm=True)
    made.warnings = warnings  # type: ignore[attr-defined]
    yield made
    made.close()


def warm_orchestrator(sandbox: Sandbox) -> Orchestrator:
    orchestrator = Orchestrator(sandbox.config)
    orchestrator.launcher = LaneLauncher(orchestrator.warn, sandbox.repo / ".maestro" / "logs",
                                         warm=True)
    orchestrator.launcher.prepare(sandbox.repo)  # as the daemon does when it starts
    return orchestrator


def test_a_warm_lane_completes_like_a_cold_one(sandbox: Sandbox) -> None:
    sandbox.add_issue("WL-1")
    orchestrator = warm_orchestrator(sandbox)
    try:
        orchestrator.tick(wait=False)
        lane = orchestrator.running["WL-1"]
        assert isinstance(lane, WarmLane)
        orchestrator.reap(wait=True)
    finally:
        orchestrator.launcher.close()
    assert lane.returncode == 0
    assert sandbox.outcome("WL-1") == "waiting"
    assert sandbox.issue("WL-1").state == "In Review"
    assert sandbox.lane_file("WL-1", "holder.json")["pid"] == lane.pid


def test_the_daemon_forks_its_lanes_from_a_warm_worker_by_default(sandbox: Sandbox) -> None:
    sandbox.add_issue("WL-1")
    orchestrator = Orchestrator(sandbox.config)
    orchestrator.daemon(0.01, max_ticks=1)
    assert (orchestrator.launcher.warm_starts, orchestrator.launcher.cold_starts) == (1, 0)


def test_warm_workers_false_starts_every_lane_cold(sandbox: Sandbox) -> None:
    sandbox.add_issue("WL-1")
    config = sandbox.config.model_copy(update={
        "dispatch": sandbox.config.dispatch.model_copy(update={"warm_workers": False})})
    orchestrator = Orchestrator(config)
    orchestrator.daemon(0.01, max_ticks=1)
    assert (orchestrator.launcher.warm_starts, orchestrator.launcher.cold_starts) == (0, 1)


def test_the_daemon_learns_a_warm_lanes_exit_status_and_its_output_goes_to_the_log(
        launcher: LaneLauncher, tmp_path: Path) -> None:
    log = tmp_path / "lane.log"
    launcher.prepare(tmp_path)
    lane = launcher.start([*MAESTRO, "--no-such-option"], tmp_path, log)
    assert isinstance(lane, WarmLane)
    assert lane.wait(timeout=30) == 2
    assert "usage: maestro" in log.read_text()


def test_a_warm_lane_shares_the_daemons_process_group_and_dies_by_its_signal(
        sandbox: Sandbox) -> None:
    sandbox.add_issue("WL-2", script=SLOW)
    orchestrator = warm_orchestrator(sandbox)
    try:
        orchestrator.tick(wait=False)
        lane = orchestrator.running["WL-2"]
        wait_for(lambda: sandbox.issue("WL-2").state == "In Progress")
        assert os.getpgid(lane.pid) == os.getpgid(0)  # as a cold lane: killpg reaches it
        lane.send_signal(signal.SIGKILL)
        assert lane.wait(timeout=30) == -signal.SIGKILL
    finally:
        orchestrator.launcher.close()


def test_the_log_says_how_a_lane_process_ended(sandbox: Sandbox) -> None:
    sandbox.add_issue("WL-2", script=SLOW)
    orchestrator = warm_orchestrator(sandbox)
    try:
        orchestrator.tick(wait=False)
        wait_for(lambda: sandbox.issue("WL-2").state == "In Progress")
        orchestrator.running["WL-2"].send_signal(signal.SIGKILL)
        orchestrator.reap(wait=True)
    finally:
        orchestrator.launcher.close()
    log = sandbox.repo / ".maestro" / "logs" / "maestro.jsonl"
    ends = [record for line in log.read_text().splitlines()
            if (record := json.loads(line))["event"] == "lane_exit"]
    assert [(e["returncode"], e["message"].split(":")[0]) for e in ends] == [
        (-signal.SIGKILL, "lane process ended (killed by SIGKILL)")]


def test_a_warm_lane_gets_the_environment_a_cold_lane_gets(
        sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    sandbox.add_issue("WL-3", script=SLOW)
    monkeypatch.setenv("MAESTRO_WARM_TEST", "an operator's variable")
    orchestrator = warm_orchestrator(sandbox)
    try:
        orchestrator.tick(wait=False)
        lane = orchestrator.running["WL-3"]
        assert isinstance(lane, WarmLane)
        wait_for(lambda: sandbox.issue("WL-3").state == "In Progress")
        cold = subprocess.run(["cat", "/proc/self/environ"], capture_output=True, check=True)
        assert Path(f"/proc/{lane.pid}/environ").read_bytes() == cold.stdout
        lane.send_signal(signal.SIGKILL)
        lane.wait(timeout=30)
    finally:
        orchestrator.launcher.close()


def test_a_change_of_the_daemons_environment_retires_the_zygote(
        launcher: LaneLauncher, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    launcher.prepare(tmp_path)
    old = launcher.zygote
    monkeypatch.setenv("MAESTRO_WARM_TEST", "set after the zygote started")
    first = launcher.start([*MAESTRO, "--version"], tmp_path, tmp_path / "a.log")
    second = launcher.start([*MAESTRO, "--version"], tmp_path, tmp_path / "b.log")
    assert isinstance(first, subprocess.Popen)
    assert isinstance(second, WarmLane) and second.zygote is not old
    assert (first.wait(timeout=30), second.wait(timeout=30)) == (0, 0)


def test_a_dead_zygote_means_a_cold_start_and_a_new_zygote(
        launcher: LaneLauncher, tmp_path: Path) -> None:
    launcher.prepare(tmp_path)
    assert launcher.zygote is not None and launcher.zygote.wait_ready(30)
    dead = launcher.zygote.pid
    os.kill(dead, signal.SIGKILL)
    launcher.zygote.process.wait()

    first = launcher.start([*MAESTRO, "--version"], tmp_path, tmp_path / "a.log")
    second = launcher.start([*MAESTRO, "--version"], tmp_path, tmp_path / "b.log")

    assert isinstance(first, subprocess.Popen) and first.wait(timeout=30) == 0
    assert isinstance(second, WarmLane) and second.wait(timeout=30) == 0
    assert second.zygote.pid != dead
    assert any("unusable" in w for w in launcher.warnings)  # type: ignore[attr-defined]


def test_a_request_the_zygote_refuses_starts_cold(launcher: LaneLauncher,
                                                   tmp_path: Path) -> None:
    launcher.prepare(tmp_path)
    lane = launcher.start([sys.executable, "-c", "pass"], tmp_path, tmp_path / "a.log")
    assert isinstance(lane, subprocess.Popen) and lane.wait(timeout=30) == 0
    assert any("refused to fork" in w for w in launcher.warnings)  # type: ignore[attr-defined]


def test_a_zygote_is_replaced_after_its_lane_quota_and_drains_its_lanes(
        tmp_path: Path) -> None:
    launcher = LaneLauncher(lambda _: None, tmp_path / "logs", warm=True,
                            restart_after_lanes=1)
    launcher.prepare(tmp_path)
    try:
        lanes = [launcher.start([*MAESTRO, "--version"], tmp_path, tmp_path / f"{n}.log")
                 for n in range(3)]
        first, second, third = lanes
        assert isinstance(first, WarmLane) and isinstance(third, WarmLane)
        assert isinstance(second, subprocess.Popen)  # while the replacement imports
        assert first.zygote is not third.zygote
        assert [lane.wait(timeout=30) for lane in lanes] == [0, 0, 0]
    finally:
        launcher.close()


def test_the_zygote_is_outside_the_daemons_process_group(launcher: LaneLauncher,
                                                        tmp_path: Path) -> None:
    launcher.prepare(tmp_path)  # a kill of the daemon's group finds only it and its lanes
    assert launcher.zygote is not None
    assert os.getpgid(launcher.zygote.pid) != os.getpgid(0)


def test_the_zygote_exits_when_the_daemons_end_closes(launcher: LaneLauncher,
                                                      tmp_path: Path) -> None:
    launcher.prepare(tmp_path)
    zygote = launcher.zygote
    assert zygote is not None and zygote.wait_ready(30)
    zygote.sock.close()  # what a killed daemon's exit does to the socket
    assert zygote.process.wait(timeout=30) == 0


@pytest.mark.parametrize(("change", "reason"), [
    ("code", "maestro or a dependency changed on disk"),
    ("env", "the daemon's environment changed"),
    (None, None),
])
def test_a_fingerprint_names_what_made_a_zygote_stale(change: str | None,
                                                      reason: str | None) -> None:
    started = freshness.Fingerprint(code=(("maestro/cli.py", (1, 2, 3, 4)),),
                                    env=("HOME=/root",))
    now = freshness.Fingerprint(
        code=(("maestro/cli.py", (1, 5, 6, 4)),) if change == "code" else started.code,
        env=("HOME=/home/x",) if change == "env" else started.env)
    assert freshness.stale_reason(started, now) == reason


def test_touching_a_maestro_source_file_changes_the_fingerprint(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "maestro"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "cli.py").write_text("x = 1\n")
    monkeypatch.setattr(freshness.maestro, "__file__", str(package / "__init__.py"))
    before = freshness.take([])
    (package / "cli.py").write_text("x = 22\n")
    assert freshness.stale_reason(before, freshness.take([])) is not None


def test_a_code_change_on_disk_retires_the_zygote(
        launcher: LaneLauncher, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    launcher.prepare(tmp_path)
    assert launcher.zygote is not None and launcher.zygote.wait_ready(30)
    monkeypatch.setattr(freshness, "code_stamps", lambda: (("maestro/cli.py", (0, 0, 0, 0, 0)),))
    lane = launcher.start([*MAESTRO, "--version"], tmp_path, tmp_path / "a.log")
    assert isinstance(lane, subprocess.Popen) and lane.wait(timeout=30) == 0
    assert any(freshness.CODE_CHANGED in w for w in launcher.warnings)  # type: ignore[attr-defined]


def _zygote_loading(path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ``sitecustomize`` module every interpreter started with this environment loads
    (the zygote included), written well before the zygote starts."""
    path.mkdir()
    module = path / "sitecustomize.py"
    module.write_text("VERSION = 1\n")
    time.sleep(0.2)  # older than the zygote by more than the file clock's slack
    monkeypatch.setenv("PYTHONPATH", str(path))
    return module


def test_a_zygote_forks_while_the_code_it_loaded_is_unchanged(
        launcher: LaneLauncher, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _zygote_loading(tmp_path / "path", monkeypatch)
    launcher.prepare(tmp_path)
    lane = launcher.start([*MAESTRO, "--version"], tmp_path, tmp_path / "lane.log")
    assert isinstance(lane, WarmLane)
    assert lane.wait(timeout=30) == 0


def test_a_zygote_forks_nothing_once_a_module_it_loaded_changed_on_disk(
        launcher: LaneLauncher, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = _zygote_loading(tmp_path / "path", monkeypatch)
    launcher.prepare(tmp_path)
    assert launcher.zygote is not None and launcher.zygote.wait_ready(30)
    module.write_text("VERSION = 2\n")  # a cold lane started now would run this
    lane = launcher.start([*MAESTRO, "--version"], tmp_path, tmp_path / "lane.log")
    assert not isinstance(lane, WarmLane)
    assert lane.wait(timeout=30) == 0
    assert any(f"{module} changed on disk" in warning
               for warning in launcher.warnings)  # type: ignore[attr-defined]


def test_the_fingerprint_lists_a_linked_folder_but_never_walks_into_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "maestro"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "a.py").write_text("")
    (package / "sub" / "loop").symlink_to(package)  # os.walk would not follow it either
    monkeypatch.setattr(freshness.maestro, "__file__", str(package / "__init__.py"))
    assert [Path(p).relative_to(package).as_posix() for p in freshness._watched_paths()] == [
        "__init__.py", "sub/a.py"]
