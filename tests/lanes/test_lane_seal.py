"""A finished lane is read from its completion marker alone while its folder is unchanged
(maestro/lanes/record/lane_read.py: ``seal_finished``, ``sealed_read``)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from maestro.lanes.record.lane_read import read_lane, seal_finished, sealed_read
from maestro.lanes.record.state import LaneState


@pytest.fixture
def finished(tmp_path: Path) -> LaneState:
    """A lane as its last phases leave it, then sealed as its final write."""
    state = LaneState(tmp_path, "SEAL-1")
    state.write("lease.json", {"issue_id": "id-1", "title": "Seal me", "run_id": "run-1",
                               "attempt": 1})
    state.write("activity.json", {"last_event_at": "2026-11-30T06:00:00+00:00",
                                  "last_event_type": "phase/cleanup", "event_count": 7})
    state.write("pr.json", {"url": "http://forge.test/pr/1"})
    state.write("tokens.json", {"sessions": {"run-1/t": {
        "n": 1, "phase": "agent", "run_id": "run-1", "attempt": 1, "thread_id": "t",
        "tokens": {"totalTokens": 42}, "ended_at": "2026-11-30T05:59:00+00:00"}}})
    state.write("outcome.json", {"outcome": "finished", "phase": "cleanup", "reason": "done",
                                 "at": "2026-11-30T06:00:01+00:00"})
    state.write("cleanup.json", {"reason": "delivered", "cleaned_at": "2026-11-30T06:00:01"})
    seal_finished(state)
    return state


def test_a_sealed_lane_reads_the_same_as_its_files(finished: LaneState) -> None:
    assert sealed_read(finished) == read_lane(finished, sealed=False)


def test_a_sealed_lane_is_read_from_its_marker_alone(
        finished: LaneState, monkeypatch: pytest.MonkeyPatch) -> None:
    names: list[str] = []
    original = LaneState.read

    def spy(self: LaneState, name: str) -> object:
        names.append(name)
        return original(self, name)

    monkeypatch.setattr(LaneState, "read", spy)
    read = read_lane(finished)
    assert names == ["cleanup.json"]
    assert (read.entry["title"], read.entry["pr_url"], read.entry["tokens"]) == (
        "Seal me", "http://forge.test/pr/1", {"totalTokens": 42})
    assert read.phase == "finished"


def test_a_write_after_the_seal_voids_it(finished: LaneState) -> None:
    marker = os.stat(finished.path("cleanup.json"))
    finished.write("pr.json", {"url": "http://forge.test/pr/2"})
    later = marker.st_ctime_ns + 1_000_000_000  # as a write a second later would leave it
    os.utime(finished.dir, ns=(later, later))
    assert sealed_read(finished) is None
    assert read_lane(finished).entry["pr_url"] == "http://forge.test/pr/2"


def test_a_seal_copied_to_another_lane_folder_is_ignored(finished: LaneState,
                                                         tmp_path: Path) -> None:
    copy = LaneState(tmp_path, "SEAL-2")
    copy.write("cleanup.json", json.loads(finished.path("cleanup.json").read_text()))
    assert sealed_read(copy) is None
    assert read_lane(copy).entry["issue"] == "SEAL-2"


def test_a_lane_without_a_marker_is_not_sealed(tmp_path: Path) -> None:
    state = LaneState(tmp_path, "SEAL-3")
    state.write("lease.json", {"title": "running"})
    seal_finished(state)
    assert not state.exists("cleanup.json")
    assert sealed_read(state) is None



def test_a_lane_file_status_cannot_read_leaves_the_marker_unsealed(tmp_path: Path) -> None:
    state = LaneState(tmp_path, "SEAL-4")
    state.write("activity.json", {"last_event_at": 5})  # not a time: status reports it
    state.write("cleanup.json", {"reason": "delivered"})
    seal_finished(state)
    assert state.read("cleanup.json") == {"reason": "delivered"}
    assert sealed_read(state) is None
