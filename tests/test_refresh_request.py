"""The refresh request file: requests merge until the daemon takes them, none is lost."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from maestro.orchestration.refresh import (
    RefreshRequest,
    read_request,
    request_path,
    request_refresh,
    take_request,
    wait_for_request,
)


def test_a_request_names_its_issues_and_source(tmp_path: Path) -> None:
    assert request_refresh(tmp_path, ("ENG-1",), "linear") is False
    taken = take_request(request_path(tmp_path))
    assert taken is not None
    assert (taken.issues, taken.sources) == (("ENG-1",), ("linear",))


def test_requests_before_a_tick_merge_names_once_each(tmp_path: Path) -> None:
    request_refresh(tmp_path, ("ENG-1",), "linear")
    assert request_refresh(tmp_path, ("ENG-1", "MAE-2"), "github") is True
    request_refresh(tmp_path)
    waiting = read_request(request_path(tmp_path))
    assert waiting is not None
    assert waiting.issues == ("ENG-1", "MAE-2")
    assert waiting.sources == ("linear", "github", "operator")


def test_taking_a_request_removes_it(tmp_path: Path) -> None:
    request_refresh(tmp_path)
    assert take_request(request_path(tmp_path)) is not None
    assert take_request(request_path(tmp_path)) is None
    assert list(tmp_path.iterdir()) == []


def test_a_request_written_by_an_older_maestro_is_a_request_without_names(
        tmp_path: Path) -> None:
    request_path(tmp_path).write_text("2026-11-30T03:00:00+00:00\n")
    assert take_request(request_path(tmp_path)) == RefreshRequest(
        requested_at="2026-11-30T03:00:00+00:00")


def test_a_damaged_request_still_asks_for_a_tick(tmp_path: Path) -> None:
    request_path(tmp_path).write_bytes(b'{"issues": [1, "A-1", null], "sources": "x"}')
    taken = take_request(request_path(tmp_path))
    assert taken is not None and taken.issues == ("A-1",) and taken.sources == ()


def test_a_request_written_in_the_process_wakes_the_sleeping_loop(tmp_path: Path) -> None:
    wait_for_request(0)  # nothing left over from another test
    writer = threading.Timer(0.05, request_refresh, (tmp_path, ("ENG-1",), "github"))
    writer.start()
    try:
        assert wait_for_request(120) is True  # long before the timeout: woken, not timed out
    finally:
        writer.join()
    taken = take_request(request_path(tmp_path))
    assert taken is not None and taken.issues == ("ENG-1",)


def test_a_wake_is_used_once(tmp_path: Path) -> None:
    request_refresh(tmp_path)
    assert wait_for_request(0) is True
    assert wait_for_request(0) is False


def test_a_request_is_renamed_into_place_without_an_fsync(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A request asks for a tick now; a daemon started after a crash ticks anyway, so its
    fsyncs only delayed the tick (they ran before the loop was woken)."""
    synced: list[int] = []
    monkeypatch.setattr(os, "fsync", synced.append)
    request_refresh(tmp_path, ("ENG-1",), "github")
    assert synced == []
    assert [p.name for p in tmp_path.iterdir()] == ["refresh.request"]  # no temporary left
    assert read_request(request_path(tmp_path)) is not None
