"""maestro's own attention path cut after its label (a kill, an outage before the failure
comment) is finished by the next run, never taken for a person's stop (breaker 25 F5).

Before, every later run read the needs-attention label as a person's and ended
``terminated``: no failure comment, the issue never moved to the failure state, nobody told.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from maestro.lanes.record import comments
from maestro.orchestration.orchestrator import Orchestrator
from tests.conftest import Sandbox

pytestmark = pytest.mark.slow

#: An agent that ends without a terminal signal: with one attempt allowed, maestro itself
#: takes the attention path (retries exhausted), not the agent.
GIVES_UP = 'steps:\n  - comment: "stuck"\n'


def killed_after_the_label(sandbox: Sandbox, identifier: str) -> None:
    sandbox.edit_workflow("max_attempts = 3", "max_attempts = 1")
    sandbox.add_issue(identifier, script=GIVES_UP)
    env = {**os.environ, "MAESTRO_FAULT_KILL": "attention:labelled"}
    proc = subprocess.run([sys.executable, "-m", "maestro", "lane", identifier, "--quiet"],
                          cwd=sandbox.repo, env=env, capture_output=True, check=False)
    assert proc.returncode == -9
    assert "maestro:needs-attention" in sandbox.issue(identifier).labels


def assert_attention_path_done(sandbox: Sandbox, identifier: str) -> None:
    assert sandbox.outcome(identifier) == "needs_human"
    assert sandbox.issue(identifier).state == "Todo"
    kinds = [b["kind"] for b in comments.blocks(sandbox.comments(identifier))]
    assert kinds.count("failure") == 1


def test_a_rerun_finishes_an_attention_path_killed_after_its_label(sandbox: Sandbox) -> None:
    killed_after_the_label(sandbox, "AC-1")
    sandbox.lane("AC-1")
    assert_attention_path_done(sandbox, "AC-1")


def test_the_poll_loop_resumes_a_lane_whose_attention_path_was_cut(sandbox: Sandbox) -> None:
    killed_after_the_label(sandbox, "AC-2")
    Orchestrator(sandbox.config).tick()
    assert_attention_path_done(sandbox, "AC-2")
