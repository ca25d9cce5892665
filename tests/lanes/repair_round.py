"""A lane driven into a review repair round in a sandbox, for tests of what happens while
the round runs (a signal, a person moving the issue)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from tests.conftest import Sandbox

#: The agent's first turn: one commit and a handoff; ``repair`` steps follow.
FIRST_TURN = """
steps:
  - write: {path: feature.txt, content: "feature\\n"}
  - commit: "add feature"
  - handoff: "feature added"
"""


def journal_events(sandbox: Sandbox, identifier: str) -> list[str]:
    journal = sandbox.repo / ".maestro" / "lanes" / identifier / "journal.jsonl"
    if not journal.exists():
        return []
    return [json.loads(line).get("event") for line in journal.read_text().splitlines()
            if line.strip()]


def in_repair_round(sandbox: Sandbox, identifier: str, repair: str,
                    timeout_s: float = 60) -> subprocess.Popen[str]:
    """Hand ``identifier`` off, request changes, start ``maestro lane`` for the round
    (``repair``: the script's ``repair:`` block) and return once the round started."""
    sandbox.add_issue(identifier, script=FIRST_TURN + repair)
    sandbox.lane(identifier)
    sandbox.maestro("review", "request-changes", identifier, "--comment", "rename it",
                    check=True)
    lane = subprocess.Popen([sys.executable, "-m", "maestro", "lane", identifier, "--quiet"],
                            cwd=sandbox.repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=dict(os.environ))
    deadline = time.monotonic() + timeout_s
    while "repair_started" not in journal_events(sandbox, identifier):
        assert time.monotonic() < deadline, "the repair round never started"
        time.sleep(0.1)
    return lane
