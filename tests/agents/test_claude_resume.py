"""Which Claude session a repair round resumes, and how an unknown one is recognized."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from maestro.agents.claude_code import user_message
from maestro.agents.claude_resume import resume_unknown, session_to_resume

KNOWN = "3f1c1c8e-1111-4222-8333-444455556666"


@pytest.mark.parametrize(("recorded", "resumed"), [
    (KNOWN, KNOWN),
    (KNOWN.upper(), KNOWN),
    ("", ""),
    ("thr_0001", ""),  # a scripted agent's or another transport's thread
])
def test_only_a_uuid_recorded_by_the_lane_is_offered_to_resume(recorded: str,
                                                               resumed: str) -> None:
    assert session_to_resume(recorded) == resumed


@pytest.mark.parametrize(("event", "unknown"), [
    ({"type": "result", "subtype": "error_during_execution", "is_error": True,
      "num_turns": 0, "errors": [f"No conversation found with session ID: {KNOWN}"]}, True),
    ({"type": "result", "subtype": "success", "is_error": False, "num_turns": 3}, False),
    ({"type": "result", "subtype": "success", "is_error": True, "num_turns": 1,
      "result": "API Error: Unable to connect"}, False),
    ({"type": "result", "is_error": True, "num_turns": 0, "errors": ["out of memory"]}, False),
])
def test_a_resume_of_an_unknown_session_is_told_from_other_errors(
        event: dict[str, Any], unknown: bool) -> None:
    assert resume_unknown(event) is unknown


def test_the_real_claude_says_so_for_a_session_it_does_not_have(
        claude: Path, tmp_path: Path) -> None:
    """Claude Code's wording is what :func:`resume_unknown` reads; it answers before asking
    any model, so no server is needed."""
    proc = subprocess.run(
        [str(claude), "-p", "--input-format", "stream-json", "--output-format", "stream-json",
         "--verbose", "--resume", str(uuid.uuid4())],
        input=user_message("hi"), cwd=tmp_path, capture_output=True, timeout=120,
        env={**os.environ, "CLAUDE_CONFIG_DIR": str(tmp_path / "config"),
             "ANTHROPIC_API_KEY": "sk-test", "ANTHROPIC_BASE_URL": "http://127.0.0.1:9",
             "DISABLE_AUTOUPDATER": "1", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1"})
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    results = [e for e in events if e.get("type") == "result"]
    assert results and resume_unknown(results[-1]), proc.stdout[-2000:]
