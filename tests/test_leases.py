"""Two processes never work the same lane: the second gets a clear "leased" message."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from maestro.errors import LaneLostError
from maestro.lanes.record.state import LaneState
from tests.conftest import Sandbox, copy_live_folder, remove_live_folder


def start_lane(sandbox: Sandbox, identifier: str) -> subprocess.Popen[bytes]:
    """Start ``maestro lane`` in the background and return once it holds the lane."""
    lane = subprocess.Popen([sys.executable, "-m", "maestro", "lane", identifier, "--quiet"],
                            cwd=sandbox.repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    activity = sandbox.repo / ".maestro" / "lanes" / identifier / "activity.json"
    deadline = time.monotonic() + 60
    while not activity.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return lane


def test_second_lane_process_is_refused_while_the_first_works(sandbox: Sandbox) -> None:
    sandbox.add_issue("LEASE-1", script="""
steps:
  - write: {path: a.txt, content: "a\\n"}
  - commit: "a"
  - sleep: 3
  - handoff: "a"
""")
    first = start_lane(sandbox, "LEASE-1")
    second = sandbox.lane("LEASE-1")
    first.communicate(timeout=120)
    assert second.returncode == 3
    assert "lane LEASE-1 is leased by another process" in second.stderr
    assert "Traceback" not in second.stderr
    assert first.returncode == 0
    assert sandbox.outcome("LEASE-1") == "waiting"


def test_doit_lane_is_refused_while_maestro_lane_works(sandbox: Sandbox) -> None:
    sandbox.add_issue("LEASE-2", script="""
steps:
  - sleep: 3
  - handoff: "nothing"
""")
    first = start_lane(sandbox, "LEASE-2")
    doit = subprocess.run([sys.executable, "-m", "doit", "lane:LEASE-2"], cwd=sandbox.repo,
                          capture_output=True, text=True, timeout=60)
    first.communicate(timeout=120)
    assert doit.returncode != 0
    assert "is leased by another process" in doit.stdout + doit.stderr


def test_a_lease_whose_holder_died_is_reclaimed(sandbox: Sandbox) -> None:
    sandbox.add_issue("LEASE-3")
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\n"
        "from maestro.lanes.record.state import LaneState\n"
        "from pathlib import Path\n"
        "state = LaneState(Path(sys.argv[1]), 'LEASE-3')\nstate.acquire()\n"
        "print('held', flush=True)\n"
        "time.sleep(60)\n"), str(sandbox.repo / ".maestro" / "lanes")],
        stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    assert sandbox.lane("LEASE-3").returncode == 3
    os.kill(holder.pid, 9)
    holder.wait()
    assert sandbox.lane("LEASE-3").returncode == 0
    assert sandbox.outcome("LEASE-3") == "waiting"


def test_a_holder_whose_folder_was_deleted_knows_it_and_writes_nothing(tmp_path: Path) -> None:
    state = LaneState(tmp_path, "LOST-1")
    state.acquire()
    try:
        assert not state.lost()
        shutil.rmtree(state.dir)
        assert state.lost()
        with pytest.raises(LaneLostError):
            state.write("outcome.json", {"outcome": "retry"})
        assert not state.dir.exists()  # not made again for a write that has no holder
    finally:
        state.release()


def test_a_holder_whose_folder_was_replaced_by_anothers_knows_it(tmp_path: Path) -> None:
    mine = LaneState(tmp_path, "LOST-2")
    mine.acquire()
    try:
        shutil.rmtree(mine.dir)
        other = LaneState(tmp_path, "LOST-2")
        other.acquire(role="operator")  # the new folder's lock: free, since mine is gone
        try:
            assert mine.lost() and not other.lost()
        finally:
            other.release()
    finally:
        mine.release()


def test_a_lane_reset_keeps_the_lock_so_its_holder_is_not_lost(sandbox: Sandbox) -> None:
    from maestro.lanes.context import LaneContext
    from maestro.lanes.outcomes import reset_lane

    sandbox.add_issue("LOST-3")
    ctx = LaneContext(sandbox.config, "LOST-3")
    ctx.state.acquire()
    try:
        ctx.state.write("lease.json", {"run_id": "x"})
        reset_lane(ctx, "a test")
        assert not ctx.state.lost()
    finally:
        ctx.state.release()
        ctx.close()


@pytest.mark.parametrize("restored", [False, True], ids=["deleted", "restored-from-a-copy"])
def test_a_lane_whose_folder_is_deleted_mid_tool_call_records_nothing_after(
        sandbox: Sandbox, tmp_path: Path, restored: bool) -> None:
    """Breaker 15: the folder deleted (or swapped for a copy taken a moment before) while
    ``lane_open_pr`` validates. The calls after it are refused, the session ends, and no
    tool or turn record reaches the folder, so no later run takes the agent's handoff
    from a process that no longer held the lane."""
    started = tmp_path / "validating"
    sandbox.edit_workflow('validation_commands = ["python3 -m unittest -q test_hello"]',
                          f'validation_commands = ["touch {started}; sleep 3"]')
    sandbox.add_issue("LOST-4", script="""
        steps:
          - write: {path: a.txt, content: a}
          - commit: a
          - handoff: done
        """)
    folder = sandbox.repo / ".maestro" / "lanes" / "LOST-4"
    lane = subprocess.Popen([sys.executable, "-m", "maestro", "lane", "LOST-4", "--quiet"],
                            cwd=sandbox.repo, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not started.exists() and lane.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    copy = tmp_path / "copy"
    copy_live_folder(folder, copy)
    remove_live_folder(folder)
    if restored:
        shutil.copytree(copy, folder)
    _, stderr = lane.communicate(timeout=120)
    assert lane.returncode == 3, stderr
    if not restored:
        assert not folder.exists(), sorted(p.name for p in folder.rglob("*"))
        return
    tools = (folder / "tools.jsonl").read_text() if (folder / "tools.jsonl").exists() else ""
    assert tools == ((copy / "tools.jsonl").read_text()
                     if (copy / "tools.jsonl").exists() else "")
    assert "issue_review_handoff" not in tools
