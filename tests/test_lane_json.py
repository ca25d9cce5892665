"""``maestro lane ID --json`` prints the outcome record and nothing else on stdout, so a
script or CI step can parse it (breaker 21, F7: doit's progress lines came first)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Sandbox


@pytest.mark.slow
def test_a_lane_run_with_json_prints_only_its_outcome_record(sandbox: Sandbox) -> None:
    sandbox.add_issue("LJ-1")
    proc = sandbox.maestro("lane", "LJ-1", "--json")
    assert json.loads(proc.stdout)["outcome"] == "waiting", proc.stderr
