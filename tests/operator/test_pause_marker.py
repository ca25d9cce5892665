"""A damaged pause marker holds dispatch, and every message says so: the warning, the
tick's hold reason, ``maestro pause`` and ``maestro status`` (never "treated as absent"
while dispatch stays held, never "since " with nothing after it)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from maestro import fsutil
from maestro.operator.status_view import render_status
from maestro.orchestration.pause import PAUSE_FILE, clear_pause, hold_reason, read_pause

DAMAGED = {"truncated": '{"at": "2026', "empty": "", "not an object": "[1, 2]"}


@pytest.fixture
def state_root(tmp_path: Path) -> Path:
    fsutil._REPORTED.clear()
    return tmp_path


@pytest.mark.parametrize("content", DAMAGED.values(), ids=DAMAGED.keys())
def test_a_damaged_marker_is_warned_as_paused_and_holds(
        state_root: Path, content: str, capsys: pytest.CaptureFixture[str]) -> None:
    (state_root / PAUSE_FILE).write_text(content)
    record = read_pause(state_root)
    assert record is not None and record["damaged"]
    warning = capsys.readouterr().err
    assert "treated as paused" in warning and "maestro resume" in warning
    assert "treated as absent" not in warning


def test_the_hold_reason_names_the_damage_and_how_to_resume(state_root: Path) -> None:
    (state_root / PAUSE_FILE).write_text('{"at": "2026')
    reason = hold_reason(state_root)
    assert reason is not None
    assert "paused.json is damaged: not JSON" in reason and "`maestro resume`" in reason


def test_status_of_a_damaged_marker_says_it_is_damaged_not_since_nothing(
        state_root: Path) -> None:
    (state_root / PAUSE_FILE).write_text("")
    out = io.StringIO()
    snap = {"project_id": "p", "generated_at": "2026-11-30T12:00:00+00:00",
            "schema_version": 1, "paused": read_pause(state_root), "needs_human": [],
            "lanes": [], "active": [], "retrying": [], "in_review": [], "recent": []}
    render_status(snap, Console(file=out, width=200))
    text = out.getvalue()
    assert "paused: no new lane starts (its marker is damaged: empty)" in text
    assert "(since )" not in text


def test_resume_releases_a_damaged_marker(state_root: Path) -> None:
    (state_root / PAUSE_FILE).write_text("{")
    assert clear_pause(state_root)
    assert read_pause(state_root) is None
