"""A lane that ended (``cleanup.json``) runs no phase again: run again, it keeps the record
it ended with (breaker 20, F4: a lane cancelled after review judged it ready to land had
its land phase rewrite ``terminated`` as ``waiting``)."""

from __future__ import annotations

import pytest

from tests.conftest import Sandbox

pytestmark = pytest.mark.slow


def cancelled_before_landing(sandbox: Sandbox, identifier: str) -> dict[str, object]:
    sandbox.add_issue(identifier)
    sandbox.lane(identifier)
    sandbox.approve(identifier)
    sandbox.lane(identifier, env={"MAESTRO_FAULT_KILL": "land:before"})
    sandbox.maestro("cancel", identifier, check=True)
    ended = sandbox.lane_file(identifier, "outcome.json")
    assert ended["outcome"] == "terminated"
    return dict(ended)


def test_a_cancelled_lane_run_again_keeps_its_terminated_record(sandbox: Sandbox) -> None:
    ended = cancelled_before_landing(sandbox, "ER-1")
    again = sandbox.lane("ER-1")
    assert again.returncode == 0, again.stderr
    assert sandbox.lane_file("ER-1", "outcome.json") == ended


def test_a_cancelled_lane_run_again_says_it_was_terminated(sandbox: Sandbox) -> None:
    cancelled_before_landing(sandbox, "ER-2")
    out = sandbox.maestro("lane", "ER-2").stdout
    assert "terminated" in out and "cancelled by an operator" in out
