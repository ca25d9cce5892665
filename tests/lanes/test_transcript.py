"""The agent's items as compact journal records (maestro/lanes/sessions/transcript.py), by table."""

from __future__ import annotations

from typing import Any

import pytest

from maestro.lanes.sessions.transcript import MAX_TEXT, item_record

CASES: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = [
    ("a message keeps its text",
     {"type": "agentMessage", "text": "hello"},
     {"event": "item", "item": "message", "text": "hello"}),
    ("a command keeps its exit code and output tail",
     {"type": "commandExecution", "command": "pytest -q", "exitCode": 1,
      "aggregatedOutput": "1 failed", "durationMs": 40},
     {"event": "item", "item": "command", "command": "pytest -q", "exit_code": 1,
      "duration_ms": 40, "output_tail": "1 failed"}),
    ("an argv command is joined as a shell would read it",
     {"type": "commandExecution", "command": ["git", "commit", "-m", "a b"], "exitCode": 0},
     {"event": "item", "item": "command", "command": "git commit -m 'a b'", "exit_code": 0,
      "duration_ms": None, "output_tail": ""}),
    ("a file change names its paths",
     {"type": "fileChange", "changes": [{"path": "a.py", "kind": "add"}]},
     {"event": "item", "item": "file_change", "paths": ["a.py"]}),
    ("a reasoning summary is kept", {"type": "reasoning", "summary": ["look", "then act"]},
     {"event": "item", "item": "reasoning", "text": "look\nthen act"}),
    ("tool calls are journaled elsewhere", {"type": "dynamicToolCall", "tool": "x"}, None),
    ("a malformed item is skipped", {"type": "fileChange", "changes": None},
     {"event": "item", "item": "file_change", "paths": []}),
]


@pytest.mark.parametrize(("name", "item", "expected"), CASES, ids=[c[0] for c in CASES])
def test_item_record(name: str, item: dict[str, Any], expected: dict[str, Any] | None) -> None:
    assert item_record({"item": item}) == expected


def test_a_long_output_keeps_its_tail() -> None:
    record = item_record({"item": {"type": "commandExecution", "command": "x", "exitCode": 0,
                                   "aggregatedOutput": "a" * MAX_TEXT + "END"}})
    assert record is not None and record["output_tail"].endswith("END")
    assert len(record["output_tail"]) == MAX_TEXT + 1
