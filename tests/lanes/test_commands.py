"""Validation commands run code the agent wrote; their output is data, never trusted to decode."""

from __future__ import annotations

import os
from pathlib import Path

from maestro.lanes.validation.commands import run_commands

ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}


def test_output_that_is_not_utf8_is_recorded_with_replacement_characters(tmp_path: Path) -> None:
    passed, records = run_commands(["printf 'bad \\200\\377 bytes'"], tmp_path, 30, ENV)
    assert passed
    assert records[0]["output_tail"] == "bad \ufffd\ufffd bytes"


def test_the_first_failing_command_stops_the_run_and_keeps_its_exit_code(tmp_path: Path) -> None:
    passed, records = run_commands(["true", "exit 7", "touch never"], tmp_path, 30, ENV)
    assert not passed
    assert [r["exit_code"] for r in records] == [0, 7]
    assert not (tmp_path / "never").exists()


def test_a_command_over_its_time_limit_is_recorded_as_exit_124(tmp_path: Path) -> None:
    passed, records = run_commands(["sleep 5"], tmp_path, 0.2, ENV)
    assert not passed
    assert records[0]["exit_code"] == 124
