"""The operator's snapshot cache never serves a stale lane (maestro/operator/snapshot_cache.py).

Lane folders are written directly (as lane processes write them) and aged past the racy
window, so each test sees the cache's own change signal at work, not a forced re-read of
a folder modified a moment ago.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from maestro.config.service import ServiceConfig
from maestro.fsutil import StatIdentity, settled
from maestro.lanes.record.lane_read import read_lane, sealed_read
from maestro.lanes.record.state import LaneState
from maestro.operator.http import OperatorServer
from maestro.operator.presenter import state_payload
from maestro.operator.snapshot_cache import RACY_S, StatusCache, compact_around
from maestro.operator.status import snapshot
from tests.operator.conftest import fetch


def age(path: Path, seconds: float = 10 * RACY_S) -> None:
    """Set the modification time of ``path`` and everything under it into the past."""
    stamp = time.time() - seconds
    for folder, _, files in os.walk(path):
        for name in files:
            os.utime(Path(folder) / name, (stamp, stamp))
        os.utime(folder, (stamp, stamp))


def write_lane(config: ServiceConfig, identifier: str, **files: dict[str, Any]) -> LaneState:
    state = LaneState(config.lanes_root, identifier)
    state.write("lease.json", {"issue_id": identifier, "title": f"lane {identifier}",
                               "run_id": "run-1", "attempt": 1})
    for name, value in files.items():
        state.write(name.replace("_", ".", 1) if "_json" in name else name, value)
    return state


@pytest.fixture
def lanes(tmp_path: Path) -> ServiceConfig:
    config = ServiceConfig().resolved(tmp_path)
    write_lane(config, "C-1", outcome_json={"outcome": "waiting", "phase": "review",
                                            "reason": "waiting for review", "at": "x"})
    write_lane(config, "C-2")
    (config.lanes_root / "C-2" / "tools.jsonl").write_text(
        json.dumps({"ok": True, "tool": "issue_transition", "at": "w"}) + "\n")
    age(config.state_root)
    return config


@pytest.fixture
def server(lanes: ServiceConfig) -> Iterator[OperatorServer]:
    served = OperatorServer(lanes, "127.0.0.1:0")
    served.start()
    yield served
    served.stop()


def lane_of(server: OperatorServer, identifier: str) -> dict[str, Any] | None:
    status, _, body = fetch(server, "GET", "/api/v1/state")
    assert status == 200
    return next((lane for lane in json.loads(body)["lanes"]
                 if lane["issue"] == identifier), None)


def cache_of(server: OperatorServer) -> StatusCache:
    cache: StatusCache = server.app.state.status
    return cache


def test_an_unchanged_lane_folder_is_not_read_again(server: OperatorServer) -> None:
    lane_of(server, "C-1")
    reads = cache_of(server).reads
    lane_of(server, "C-1")
    fetch(server, "GET", "/api/v1/C-1")
    assert cache_of(server).reads == reads


def test_a_lane_file_written_shows_in_the_next_response(server: OperatorServer,
                                                         lanes: ServiceConfig) -> None:
    assert (lane_of(server, "C-1") or {})["outcome"] == "waiting"
    LaneState(lanes.lanes_root, "C-1").write(
        "outcome.json", {"outcome": "needs_human", "phase": "agent", "reason": "stuck",
                         "at": "y"})
    lane = lane_of(server, "C-1") or {}
    assert (lane["outcome"], lane["reason"]) == ("needs_human", "stuck")


def test_a_new_lane_folder_shows_in_the_next_response(server: OperatorServer,
                                                      lanes: ServiceConfig) -> None:
    assert lane_of(server, "C-3") is None
    write_lane(lanes, "C-3")
    assert (lane_of(server, "C-3") or {})["title"] == "lane C-3"


def test_a_removed_lane_folder_disappears_from_the_next_response(
        server: OperatorServer, lanes: ServiceConfig) -> None:
    assert lane_of(server, "C-2") is not None
    for path in (lanes.lanes_root / "C-2").iterdir():
        path.unlink()
    (lanes.lanes_root / "C-2").rmdir()
    assert lane_of(server, "C-2") is None
    assert fetch(server, "GET", "/api/v1/C-2")[0] == 404


def test_an_appended_tool_record_shows_in_the_next_response(server: OperatorServer,
                                                            lanes: ServiceConfig) -> None:
    assert (lane_of(server, "C-2") or {})["checkpoint"] is None
    body = '```maestro-checkpoint\n{"phase": "agent", "focus": "the parser"}\n```'
    with (lanes.lanes_root / "C-2" / "tools.jsonl").open("a") as record:  # no rename
        record.write(json.dumps({"ok": True, "tool": "issue_comment", "at": "z",
                                 "args": {"body": body}}) + "\n")
    assert ((lane_of(server, "C-2") or {})["checkpoint"] or {}).get("focus") == "the parser"


def kept_of(server: OperatorServer) -> list[str]:
    status, _, body = fetch(server, "GET", "/api/v1/state")
    assert status == 200
    return [Path(item["path"]).name for item in json.loads(body)["kept_work"]]


def test_a_folder_set_aside_in_the_workspace_shows_in_the_next_response_and_goes_with_it(
        server: OperatorServer, lanes: ServiceConfig) -> None:
    lanes.workspace_root.mkdir(parents=True, exist_ok=True)
    age(lanes.workspace_root)
    assert kept_of(server) == []
    aside = lanes.workspace_root / "C-1.set-aside-20261201T000000Z"
    aside.mkdir()
    (aside / "draft.txt").write_text("x\n")
    age(lanes.workspace_root)  # past the racy window: only the folder's own stat can tell
    assert kept_of(server) == [aside.name]
    shutil.rmtree(aside)
    age(lanes.workspace_root)
    assert kept_of(server) == []


def test_a_lane_whose_holder_lets_go_stops_running(server: OperatorServer,
                                                   lanes: ServiceConfig) -> None:
    holder = LaneState(lanes.lanes_root, "C-2")
    holder.acquire()  # another lock object: what a lane process holds
    age(holder.dir)  # so only the lease itself can tell the cache to look again
    try:
        assert (lane_of(server, "C-2") or {})["running"] is True
    finally:
        holder.release()  # no file changes when a holder goes away
    assert (lane_of(server, "C-2") or {})["running"] is False


def test_the_cached_document_is_the_one_read_afresh(lanes: ServiceConfig) -> None:
    cache = StatusCache(lanes)
    cache.state_body()
    cached = json.loads(cache.state_body())
    fresh = json.loads(json.dumps(state_payload(lanes, snapshot(lanes)), default=str))
    cached.pop("generated_at")
    fresh.pop("generated_at")
    assert cached == fresh


@pytest.mark.parametrize(("mtime_age_s", "ctime_age_s", "expected"), [
    (RACY_S * 2, RACY_S * 2, True),   # old enough: a later write must change the stat
    (RACY_S * 2, 0.0, True),          # mtime set back (utime): a write moves it again
    (0.0, RACY_S * 2, True),
    (RACY_S / 2, RACY_S / 2, False),  # within the window: a second write may share both
    (0.0, 0.0, False),
])
def test_a_folder_is_trusted_only_once_a_later_write_must_change_its_stat(
        mtime_age_s: float, ctime_age_s: float, expected: bool) -> None:
    now = time.time_ns()
    # 4 KiB is a folder's size, far below any clock reading
    stat = StatIdentity(dev=1, ino=2, size=4096, mtime_ns=now - int(mtime_age_s * 1e9),
                        ctime_ns=now - int(ctime_age_s * 1e9))
    assert settled((stat,), now) is expected


def test_a_lane_run_to_its_end_is_read_from_its_marker(finished_demo: ServiceConfig) -> None:
    """The seal is a finished lane's last write: nothing after it voids it."""
    done = [identifier for identifier in ("DEMO-1", "DEMO-2", "DEMO-3", "DEMO-4")
            if LaneState(finished_demo.lanes_root, identifier).exists("cleanup.json")]
    assert done
    for identifier in done:
        state = LaneState(finished_demo.lanes_root, identifier)
        assert sealed_read(state) == read_lane(state, sealed=False)


def test_a_quick_look_answers_what_a_full_look_answers(lanes: ServiceConfig) -> None:
    cache = StatusCache(lanes)
    full = json.loads(cache.state_body())
    quick = json.loads(cache.quick_state_body(20, time.monotonic_ns()) or b"null")
    full.pop("generated_at")
    quick.pop("generated_at")
    assert quick == full


def test_a_quick_look_leaves_a_changed_lane_to_a_full_look(lanes: ServiceConfig) -> None:
    cache = StatusCache(lanes)
    cache.state_body()
    LaneState(lanes.lanes_root, "C-1").write(
        "outcome.json", {"outcome": "needs_human", "phase": "agent", "reason": "stuck",
                         "at": "y"})
    reads = cache.reads
    assert cache.quick_state_body(20, time.monotonic_ns()) is None
    assert cache.reads == reads  # it read nothing
    lane = next(lane for lane in json.loads(cache.state_body())["lanes"]
                if lane["issue"] == "C-1")
    assert lane["outcome"] == "needs_human"


def test_a_quick_look_does_not_wait_for_another_look(lanes: ServiceConfig) -> None:
    cache = StatusCache(lanes)
    cache.state_body()
    with cache._lock:  # another thread's look in progress
        assert cache.quick_state_body(20, time.monotonic_ns()) is None
    assert cache.quick_state_body(20, time.monotonic_ns()) is not None


def test_a_lane_folder_behind_a_symbolic_link_is_listed_afresh(
        server: OperatorServer, lanes: ServiceConfig, tmp_path: Path) -> None:
    """Its target can go without the lanes folder changing: a cached listing would keep it
    as a lane with no files instead of dropping it."""
    elsewhere = tmp_path / "elsewhere"
    LaneState(elsewhere, "C-9").write("lease.json", {"issue_id": "C-9", "title": "linked"})
    (lanes.lanes_root / "C-9").symlink_to(elsewhere / "C-9")
    age(lanes.state_root)
    age(elsewhere)
    assert (lane_of(server, "C-9") or {})["title"] == "linked"
    shutil.rmtree(elsewhere)
    assert lane_of(server, "C-9") is None


@pytest.mark.parametrize("doc", [
    {"generated_at": "then"},
    {"a": [1, {"b": None}], "generated_at": "then", "z": 2.5},
    {"lanes": [{"generated_at": "a lane's own"}], "generated_at": "then"},  # nested key
    {"a": '\n  "generated_at": "forged"', "generated_at": "then"},  # agent-written text
    {"generated_at": "then", "title": 'x","generated_at":"forged'},
])
def test_the_compact_body_splits_at_the_documents_own_generated_at(doc: dict[str, Any]) -> None:
    head, tail = compact_around(doc, "generated_at")
    body = head + b'"now"' + tail
    expected = {**doc, "generated_at": "now"}
    assert body == (json.dumps(expected, sort_keys=True, separators=(",", ":")) + "\n").encode()
