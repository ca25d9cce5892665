"""Text others wrote is parsed without a depth limit nowhere: a document nested deeper than
Python's recursion limit (30 000 ``[`` fit in a 60 KB comment, from an agent or anyone who
may comment on a GitHub issue) reads as malformed, never as a ``RecursionError`` that
stopped every claim of its lane and ``maestro status`` for every lane."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from maestro.fsutil import parse_json, read_json
from maestro.lanes.record import comments
from maestro.model import Comment
from tests.conftest import Sandbox

DEEP = "[" * 30_000 + "]" * 30_000


def test_a_document_nested_too_deep_is_malformed_json() -> None:
    with pytest.raises(json.JSONDecodeError, match="nested too deep"):
        parse_json(DEEP)


def test_a_state_block_nested_too_deep_is_no_block() -> None:
    body = f'note <!-- maestro:state {{"kind": "start", "x": {DEEP}}} -->'
    assert comments.block_of(Comment(id="1", body=body)) is None


def test_a_checkpoint_nested_too_deep_is_skipped() -> None:
    body = f'```maestro-checkpoint\n{{"phase": "x", "focus": {DEEP}}}\n```'
    assert comments.checkpoints([Comment(id="1", body=body)]) == []


def test_a_lane_file_nested_too_deep_reads_as_damaged(tmp_path: Path) -> None:
    path = tmp_path / "activity.json"
    path.write_text(f'{{"tokens": {DEEP}}}')
    assert read_json(path) is None


def test_a_deep_state_block_in_a_comment_does_not_stop_the_lane(sandbox: Sandbox) -> None:
    sandbox.add_issue("DJ-1")
    drive_by = f'drive-by <!-- maestro:state {{"kind":"start","x":{DEEP}}} -->'
    sandbox.tracker.comment("DJ-1", drive_by, author="random-user")
    proc = sandbox.lane("DJ-1")
    assert "RecursionError" not in proc.stderr
    assert sandbox.outcome("DJ-1") == "waiting"
    status = sandbox.maestro("status", "--json")
    assert status.returncode == 0 and "DJ-1" in status.stdout
