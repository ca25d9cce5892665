"""Folders under .maestro/lanes/ that are not lanes never stop a reader."""

from __future__ import annotations

import json
from pathlib import Path

from maestro.lanes.record.listing import list_lanes
from tests.conftest import Sandbox


def test_stray_folders_are_listed_apart_with_a_reason(tmp_path: Path) -> None:
    for name in ("ABC-1", "ABC-1 copy", "x.lock", "ABC-2"):
        (tmp_path / name).mkdir()
    (tmp_path / "notes.txt").write_text("a file, not a folder")

    listing = list_lanes(tmp_path)

    assert listing.identifiers == ("ABC-1", "ABC-2")
    assert sorted(path.name for path, _ in listing.strays) == ["ABC-1 copy", "x.lock"]
    assert all("not a lane folder" in line for line in listing.warnings())


def test_missing_lanes_root_lists_nothing(tmp_path: Path) -> None:
    assert list_lanes(tmp_path / "absent").identifiers == ()


def test_status_and_a_tick_go_on_beside_a_stray_folder(sandbox: Sandbox) -> None:
    sandbox.add_issue("SF-1")
    stray = sandbox.repo / ".maestro" / "lanes" / "SF-1 copy"
    stray.mkdir(parents=True)

    status = sandbox.maestro("status", "--json", check=True)
    assert any("SF-1 copy" in line for line in json.loads(status.stdout)["warnings"])
    sandbox.maestro("run", "--once", check=True)

    assert sandbox.issue("SF-1").state == "In Review"
    assert sandbox.maestro("status", check=True).returncode == 0


def test_a_stray_folder_is_warned_about_once_per_daemon(sandbox: Sandbox) -> None:
    (sandbox.repo / ".maestro" / "lanes" / "SF-2 copy").mkdir(parents=True)

    sandbox.maestro("daemon", "--poll-interval-s", "0.1", "--max-ticks", "3", check=True)

    log = (sandbox.repo / ".maestro" / "warnings.log").read_text().splitlines()
    assert len([line for line in log if "SF-2 copy" in line]) == 1


DAMAGED = {"DM-1": ("outcome.json", b"\xff\xfe not utf-8"), "DM-2": ("lease.json", b"[1, 2]"),
           "DM-3": ("pr.json", b'{"number": "abc"}'), "DM-4": ("activity.json", b"{\"last"),
           "DM-5": ("outcome.json", b'"a string"')}


def test_damaged_lane_files_and_retry_queue_never_stop_a_tick_or_status(
        sandbox: Sandbox) -> None:
    lanes = sandbox.repo / ".maestro" / "lanes"
    for identifier, (name, content) in DAMAGED.items():
        sandbox.add_issue(identifier)
        (lanes / identifier).mkdir(parents=True)
        (lanes / identifier / name).write_bytes(content)
    (sandbox.repo / ".maestro" / "retries.json").write_bytes(b"{not json")

    tick = sandbox.maestro("run", "--once", "--dry-run", "--json")
    status = sandbox.maestro("status", "--json")

    assert tick.returncode == 0, tick.stderr
    assert "retries.json" in tick.stderr
    assert status.returncode == 0, status.stderr
    assert "Traceback" not in tick.stderr + status.stderr
