"""The operator server's pure parts, each by a table: listen address, ages, the timeline,
the transcript, the journal's item summaries, the change counter."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from maestro.config.service import ServiceConfig
from maestro.errors import ConfigError
from maestro.operator.changes import STATE_KEY, LaneWatcher
from maestro.operator.humanize import ago, duration
from maestro.operator.listen import resolve_listen, workflow_port
from maestro.operator.timeline import segments, svg
from maestro.operator.transcript import entries

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def at(seconds: float) -> str:
    return (NOW - timedelta(seconds=seconds)).isoformat()


@pytest.mark.parametrize(("seconds", "text"), [(None, ""), (0.4, "0 s"), (5, "5 s"),
                                                (185, "3 min 5 s"), (1260, "21 min"),
                                                (7500, "2 h 5 min"), (200000, "2 d 7 h")])
def test_durations_read_as_a_person_says_them(seconds: float | None, text: str) -> None:
    assert duration(seconds) == text


@pytest.mark.parametrize(("value", "text"), [(None, ""), ("garbage", "garbage"),
                                              (at(-30), "in the future"),
                                              (at(2), "just now"), (at(40), "40 s ago"),
                                              (at(185), "3 min ago"), (at(7300), "2 h ago"),
                                              (at(3 * 86400 + 5), "3 d ago")])
def test_ages_read_as_a_person_says_them(value: str | None, text: str) -> None:
    assert ago(value, NOW) == text


def write_workflow(tmp_path: Path, front: str) -> ServiceConfig:
    (tmp_path / "WORKFLOW.md").write_text(f"---\n{front}\n---\nDo the work.\n")
    return ServiceConfig().resolved(tmp_path)


@pytest.mark.parametrize(("listen", "front", "cli", "expected"), [
    (None, "tracker:\n  kind: linear", None, None),                # off
    (None, "server:\n  port: 8123", None, "127.0.0.1:8123"),       # Symphony's server.port
    (None, "server:\n  port: 8123", 9000, "127.0.0.1:9000"),       # --port wins
    ("127.0.0.1:8900", "server:\n  port: 8123", None, "127.0.0.1:8900"),  # maestro.toml
    ("[::1]:8900", "tracker:\n  kind: linear", 0, "[::1]:0"),      # --port keeps the host
])
def test_listen_address_sources(tmp_path: Path, listen: str | None, front: str,
                                cli: int | None, expected: str | None) -> None:
    config = write_workflow(tmp_path, front)
    config = config.model_copy(update={"operator_http": config.operator_http.model_copy(
        update={"listen_address": listen})})
    assert resolve_listen(config, cli) == expected


@pytest.mark.parametrize("port", ["'8123'", "true", "70000", "-1"])
def test_a_bad_server_port_names_the_file_and_key(tmp_path: Path, port: str) -> None:
    config = write_workflow(tmp_path, f"server:\n  port: {port}")
    with pytest.raises(ConfigError, match=r"WORKFLOW.md: server.port"):
        workflow_port(config.workflow_path)


JOURNAL: list[dict[str, Any]] = [
    {"at": at(100), "event": "claimed", "attempt": 1},
    {"at": at(99), "event": "phase_done", "phase": "claim"},
    {"at": at(90), "event": "phase_done", "phase": "prepare"},
    {"at": at(60), "event": "phase_done", "phase": "agent"},
    {"at": at(50), "event": "halt", "outcome": "waiting", "phase": "review"},
    {"at": at(20), "event": "repair_started", "round": 1},
    {"at": at(10), "event": "halt", "outcome": "waiting", "phase": "review"},
]


def test_timeline_segments_follow_the_journal() -> None:
    found = [(s.label, s.kind, s.seconds) for s in segments(JOURNAL, NOW)]
    assert found == [("claim", "work", 1), ("prepare", "work", 9), ("agent", "work", 30),
                     ("review", "work", 10), ("waiting: review", "wait", 30),
                     ("repair 1", "repair", 10), ("waiting: review", "wait", 10)]


def test_a_running_lane_ends_in_an_open_segment() -> None:
    found = segments(JOURNAL[:4], NOW, running_phase="validate")
    assert (found[-1].label, found[-1].kind, found[-1].seconds) == ("validate", "running", 60)


def test_a_lane_waiting_on_a_person_ends_in_a_human_segment() -> None:
    journal = [*JOURNAL[:3], {"at": at(80), "event": "halt", "outcome": "needs_human",
                              "phase": "agent"}]
    assert [(s.label, s.kind) for s in segments(journal, NOW, needs_human=True)][-2:] == [
        ("agent", "work"), ("needs a human", "human")]


def test_timeline_svg_draws_one_rectangle_per_segment_and_escapes_labels() -> None:
    found = segments([*JOURNAL[:2], {"at": at(95), "event": "phase_done",
                                     "phase": "<b>x</b>"}], NOW)
    drawn = svg(found)
    assert drawn.count("<rect") == 2 and "<b>" not in drawn and "&lt;b&gt;" in drawn


def test_transcript_keeps_the_story_and_drops_protocol_chatter() -> None:
    journal = [{"at": at(9), "event": "rpc", "method": "thread/started"},
               {"at": at(8), "event": "rpc", "method": "turn/started"},
               {"at": at(8), "event": "rpc", "method": "item/started"},
               {"at": at(7), "event": "rpc", "method": "item/completed"},
               {"at": at(7), "event": "item", "item": "message", "text": "looking"},
               {"at": at(6), "event": "item", "item": "command", "command": "make",
                "exit_code": 1, "output_tail": "boom"},
               {"at": at(5), "event": "tool", "tool": "issue_comment", "ok": False,
                "result": "refused"},
               {"at": at(4), "event": "turn_failed", "status": "failed", "reason": "quota"},
               {"at": at(3), "event": "phase_done", "phase": "agent"}]
    assert [(e.kind, e.title, e.body, e.ok) for e in entries(journal)] == [
        ("turn", "turn 1", "", None),
        ("message", "agent", "looking", None),
        ("command", "$ make  → exit 1", "boom", False),
        ("tool", "tool issue_comment", "refused", False),
        ("error", "turn failed", "quota", False),
        ("phase", "phase agent done", "", None)]


def test_the_watcher_names_the_lane_that_changed(tmp_path: Path) -> None:
    config = ServiceConfig().resolved(tmp_path)
    (config.lanes_root / "A-1").mkdir(parents=True)
    (config.lanes_root / "B-1").mkdir()
    watcher = LaneWatcher(config, interval_s=0)
    first = watcher.poll()
    (config.lanes_root / "B-1" / "activity.json").write_text("{}")
    second = watcher.poll()
    assert second == first + 1
    assert watcher.changed_since(first) == {"B-1"}
    (config.state_root / "last_tick.json").write_text("{}")
    assert watcher.changed_since(watcher.poll() - 1) == {STATE_KEY}


def test_the_watcher_sees_an_append_to_the_journal(tmp_path: Path) -> None:
    config = ServiceConfig().resolved(tmp_path)
    journal = config.lanes_root / "A-1" / "journal.jsonl"
    journal.parent.mkdir(parents=True)
    journal.write_text("{}\n")
    watcher = LaneWatcher(config, interval_s=0)
    first = watcher.poll()
    stat = journal.stat()
    with journal.open("a") as handle:
        handle.write("{}\n")
    os.utime(journal, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same mtime: size tells
    assert watcher.poll() == first + 1


def test_many_clients_within_an_interval_cost_one_look(tmp_path: Path) -> None:
    watcher = LaneWatcher(ServiceConfig().resolved(tmp_path), interval_s=3600)
    for _ in range(50):
        watcher.poll()
    assert watcher.looks == 1


def test_transcript_reads_item_records_in_their_own_journal_form_too() -> None:
    journal = [{"at": at(7), "event": "item", "item": "message", "text": "hello"},
               {"at": at(6), "event": "item", "item": "command", "command": "make",
                "exit_code": 0, "output_tail": "ok"}]
    assert [(e.kind, e.title, e.body, e.ok) for e in entries(journal)] == [
        ("message", "agent", "hello", None), ("command", "$ make  → exit 0", "ok", True)]


def test_the_watcher_sees_a_same_size_rewrite_by_rename(tmp_path: Path) -> None:
    config = ServiceConfig().resolved(tmp_path)
    target = config.lanes_root / "A-1" / "activity.json"
    target.parent.mkdir(parents=True)
    target.write_text('{"n": 1}')
    watcher = LaneWatcher(config, interval_s=0)
    first = watcher.poll()
    stat = target.stat()
    replacement = target.with_name(".activity.tmp")
    replacement.write_text('{"n": 2}')
    os.utime(replacement, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    os.replace(replacement, target)  # how lane files are written (fsutil.write_atomic)
    os.utime(target.parent, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert watcher.poll() == first + 1
