"""What a repair round's agent is told on GitHub (the loopback fake, a real ``maestro lane``):
the failing job's log tail, PR comments and ``COMMENTED`` reviews, and the threads still
open after the last round — an outdated one is not repeated, an untouched one is."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes.github_forge import TOKEN, ForgeWorld
from fakes.loopback import LoopbackServer

from tests.conftest import Sandbox
from tests.forge.conftest import lane

pytestmark = pytest.mark.slow

SCRIPT = """
steps:
  - write: {path: feature.txt, content: "feature\\n"}
  - write: {path: other.txt, content: "other\\n"}
  - commit: "add feature"
  - handoff: "feature added"
repair:
  - save_input: %s
  - append: {path: feature.txt, content: "reviewed\\n"}
  - commit: "address review"
  - repair_complete: "review addressed"
"""


def inputs(path: Path) -> list[str]:
    return [part for part in path.read_text().split("\n---\n") if part.strip()]


def test_the_failing_job_log_and_the_pr_conversation_reach_the_agent(
        github_box: tuple[Sandbox, ForgeWorld, LoopbackServer], tmp_path: Path) -> None:
    box, world, _ = github_box
    seen = tmp_path / "inputs.txt"
    box.add_issue("GHR-1", script=SCRIPT % seen)
    assert lane(box, "GHR-1") == "waiting"
    log = "".join(f"step {i}\n" for i in range(3000))
    world.check(1, "ci", "FAILURE", summary="1 test failed",
                log=log + f"push with {TOKEN}\nFAILED tests/test_x.py::test_y - assert 1 == 2\n")
    world.check(1, "lint", "FAILURE", required=False, summary="E501 line too long")
    world.comment(1, "please also update the changelog", author="carol")
    world.review(1, "COMMENTED", "nit: call it greet", author="dave")

    assert lane(box, "GHR-1") == "waiting"
    [text] = inputs(seen)
    assert "failing check ci (required)" in text
    assert "FAILED tests/test_x.py::test_y - assert 1 == 2" in text  # the log's failing tail
    assert "step 2999" in text and "step 10\n" not in text  # bounded, whole lines
    assert TOKEN not in text
    assert "failing check lint (optional: it does not block the merge)" in text
    assert "PR comment by carol: please also update the changelog" in text
    assert "review by dave (comment): nit: call it greet" in text
    assert world.log_reads == [""]  # the log storage never saw the token


def test_a_thread_outdated_by_the_repair_is_not_repeated_an_untouched_one_is(
        github_box: tuple[Sandbox, ForgeWorld, LoopbackServer], tmp_path: Path) -> None:
    box, world, _ = github_box
    seen = tmp_path / "inputs.txt"
    box.add_issue("GHR-2", script=SCRIPT % seen)
    assert lane(box, "GHR-2") == "waiting"
    world.review(1, "CHANGES_REQUESTED", "say it was reviewed", author="alice",
                 path="feature.txt", line=1)
    world.review(1, "CHANGES_REQUESTED", "other must say more", author="bob",
                 path="other.txt", line=1)
    assert lane(box, "GHR-2") == "waiting"  # round 1 changes feature.txt only
    world.review(1, "CHANGES_REQUESTED", "still not done", author="bob")
    assert lane(box, "GHR-2") == "waiting"  # round 2

    first, second = inputs(seen)
    assert "unresolved thread at feature.txt:1" in first
    assert "unresolved thread at other.txt:1" in first
    assert "unresolved thread at feature.txt:1" not in second  # outdated by round 1
    assert ("unresolved thread at other.txt:1: bob: other must say more\n"
            "  still open: the last round did not touch other.txt") in second
    assert "The last repair round (round 1) pushed:" in second
    assert "address review" in second and "Files it changed: feature.txt" in second
    assert "Settled since: thread feature.txt:1." in second
    assert not any(t.resolved for t in world.pull(1).threads)
