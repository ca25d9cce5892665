"""A lane stopped by SIGTERM outside an agent session (a hook, a validation command, git)
says so: ``interrupted`` in its outcome, not the outcome of its last run (breaker 21, F5)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import Sandbox

pytestmark = pytest.mark.slow


def test_a_lane_stopped_in_a_hook_records_that_it_was_interrupted(sandbox: Sandbox) -> None:
    sandbox.edit_workflow('merge_method = "merge"\n+++',
                          'merge_method = "merge"\n\n[hooks]\nafter_create = "sleep 30"\n+++')
    sandbox.add_issue("SO-1")
    lane = subprocess.Popen([sys.executable, "-m", "maestro", "lane", "SO-1", "--quiet"],
                            cwd=sandbox.repo, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=dict(os.environ))
    activity = sandbox.repo / ".maestro" / "lanes" / "SO-1" / "activity.json"
    deadline = time.monotonic() + 60
    while not (activity.exists() and json.loads(activity.read_text() or "{}").get(
            "phase") == "prepare"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(1.0)  # into the hook
    lane.send_signal(signal.SIGTERM)
    lane.wait(timeout=60)
    ended = sandbox.lane_file("SO-1", "outcome.json")
    assert (ended["outcome"], ended["phase"]) == ("interrupted", "prepare")
