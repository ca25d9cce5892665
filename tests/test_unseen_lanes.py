"""A lane of maestro's whose folder is gone while its issue is In Review or In Progress is
found by the tick and rebuilt (``orchestration/unseen.py``), never stranded."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from maestro.config.workflow import load_workflow
from maestro.errors import TrackerError
from maestro.lanes.record.rebuild import well_formed_start
from maestro.model import Comment, Issue, PullState
from maestro.orchestration.orchestrator import Orchestrator
from maestro.orchestration.unseen import CHECKS_PER_TICK, RECHECK_S, LanePrs, UnseenLanes
from tests.conftest import Sandbox, copy_live_folder

SCRIPT = """
    steps:
      - write: {path: a.txt, content: a}
      - commit: a
      - handoff: done
    """


def test_a_lane_whose_folder_was_deleted_in_review_is_rebuilt_and_merged(
        sandbox: Sandbox) -> None:
    sandbox.add_issue("UN-1", script=SCRIPT)
    sandbox.lane("UN-1")
    assert sandbox.issue("UN-1").state == "In Review"
    shutil.rmtree(sandbox.repo / ".maestro" / "lanes" / "UN-1")
    sandbox.approve("UN-1")
    orchestrator = Orchestrator(sandbox.config)
    plan = orchestrator.tick()
    assert [(d.issue, d.agent) for d in plan.dispatches] == [("UN-1", False)]
    for _ in range(3):
        if sandbox.outcome("UN-1") == "finished":
            break
        orchestrator.tick()
    assert sandbox.outcome("UN-1") == "finished"
    assert sandbox.issue("UN-1").state == "Done"
    assert sandbox.origin_file("a.txt") == "a"


def test_a_persons_own_in_review_issue_is_not_adopted(sandbox: Sandbox) -> None:
    sandbox.add_issue("UN-2", state="In Review")
    plan = Orchestrator(sandbox.config).tick()
    assert plan.dispatches == ()
    assert not (sandbox.repo / ".maestro" / "lanes" / "UN-2").exists()


def test_a_dry_run_does_not_ask_the_tracker_about_unseen_lanes(sandbox: Sandbox) -> None:
    sandbox.add_issue("UN-3", script=SCRIPT)
    sandbox.lane("UN-3")
    shutil.rmtree(sandbox.repo / ".maestro" / "lanes" / "UN-3")
    assert Orchestrator(sandbox.config).plan(dry_run=True).dispatches == ()


START = ('<!-- maestro:state {"kind":"start","run_id":"run-20261201T000000Z-abc123",'
         '"attempt":1} -->')


class CommentsOnly:
    """A tracker that answers ``comments`` only: maestro's start block for ``ours``, none
    for the rest, a failure for ``broken``; it counts what it was asked."""

    name = "comments-only"

    def __init__(self, ours: Sequence[str] = (), broken: Sequence[str] = ()) -> None:
        self.ours, self.broken = set(ours), set(broken)
        self.asked: list[str] = []

    def comments(self, identifier: str) -> list[Comment]:
        self.asked.append(identifier)
        if identifier in self.broken:
            raise TrackerError(f"{identifier}: HTTP 502")
        if identifier not in self.ours:
            return [Comment(id="c1", body="looks good to me")]
        return [Comment(id="c2", body=START, own=True)]


def ANY_PR(issue: Issue) -> bool:
    return True


def review(identifier: str, state: str = "In Review") -> Issue:
    return Issue(id=identifier, identifier=identifier, title=identifier, state=state)


def test_an_issue_found_not_to_be_maestros_is_not_asked_about_again_soon() -> None:
    tracker, unseen = CommentsOnly(), UnseenLanes()
    assert unseen.find(tracker, [review("P-1")], [], ANY_PR, now=0.0) == ()  # type: ignore[arg-type]
    unseen.find(tracker, [review("P-1")], [], ANY_PR, now=RECHECK_S - 1)  # type: ignore[arg-type]
    assert tracker.asked == ["P-1"]
    unseen.find(tracker, [review("P-1")], [], ANY_PR, now=RECHECK_S + 1)  # type: ignore[arg-type]
    assert tracker.asked == ["P-1", "P-1"]


def test_an_issue_that_changed_state_is_asked_about_again() -> None:
    tracker, unseen = CommentsOnly(), UnseenLanes()
    unseen.find(tracker, [review("P-1")], [], ANY_PR, now=0.0)  # type: ignore[arg-type]
    unseen.find(tracker, [review("P-1", "In Progress")], [], ANY_PR, now=1.0)  # type: ignore[arg-type]
    assert tracker.asked == ["P-1", "P-1"]


def test_an_issue_whose_comments_cannot_be_read_does_not_stop_the_rest() -> None:
    tracker = CommentsOnly(ours=["M-2"], broken=["M-1"])
    found = UnseenLanes().find(tracker, [review("M-1"), review("M-2")], [],  # type: ignore[arg-type]
                               ANY_PR)
    assert [i.identifier for i in found] == ["M-2"]


def test_a_tick_asks_about_a_bounded_number_of_issues() -> None:
    tracker = CommentsOnly()
    many = [review(f"P-{n}") for n in range(CHECKS_PER_TICK + 5)]
    UnseenLanes().find(tracker, many, [], ANY_PR, now=0.0)  # type: ignore[arg-type]
    assert len(tracker.asked) == CHECKS_PER_TICK


def test_an_issue_with_a_lane_folder_is_not_asked_about() -> None:
    tracker = CommentsOnly(ours=["L-1"])
    assert UnseenLanes().find(tracker, [review("L-1")], ["L-1"], ANY_PR) == ()  # type: ignore[arg-type]
    assert tracker.asked == []


def test_a_start_block_without_a_pr_from_the_lane_branch_is_not_enough() -> None:
    """Anyone who may comment can write a start block; only maestro (or someone who may push
    to the repository) makes the lane branch its PR comes from."""
    tracker = CommentsOnly(ours=["F-1"])
    assert UnseenLanes().find(tracker, [review("F-1")], [], lambda _: False) == ()  # type: ignore[arg-type]


def test_a_forged_start_block_on_a_persons_review_adopts_nothing(sandbox: Sandbox) -> None:
    sandbox.add_issue("UN-4", state="In Review")
    sandbox.maestro("issue", "comment", "UN-4",
                    '<!-- maestro:state {"kind":"start","run_id":"run-x","attempt":1} -->',
                    check=True)
    assert Orchestrator(sandbox.config).tick().dispatches == ()
    assert not (sandbox.repo / ".maestro" / "lanes" / "UN-4").exists()


class OnePr:
    """A forge that knows one PR, in ``state``, for every branch."""

    def __init__(self, state: PullState | None) -> None:
        self.state = state

    def find_pr(self, branch: str) -> object:
        return None if self.state is None else type("Pr", (), {"state": self.state})()


ADOPTABLE = [
    ("In Review, open PR", "In Review", PullState.OPEN, True),
    ("In Review, merged PR: it closes out", "In Review", PullState.MERGED, True),
    ("In Progress, open PR", "In Progress", PullState.OPEN, True),
    ("In Progress, merged PR: a person moved it back", "In Progress", PullState.MERGED, False),
    ("no PR", "In Review", None, False),
]


@pytest.mark.parametrize(("name", "state", "pr", "expected"), ADOPTABLE,
                         ids=[c[0] for c in ADOPTABLE])
def test_which_pr_makes_a_lane_adoptable(sandbox: Sandbox, name: str, state: str,
                                         pr: PullState | None, expected: bool) -> None:
    prs = LanePrs(sandbox.config, load_workflow(sandbox.config.workflow_path))
    prs._forge = OnePr(pr)  # type: ignore[assignment]
    assert prs.has_pr(review("A-1", state)) is expected


MALFORMED = [
    {"kind": "start", "run_id": "run-20261201T000000Z-abc123", "attempt": "abc"},
    {"kind": "start", "attempt": 1},
    {"kind": "start", "run_id": "x; rm -rf /", "attempt": 1},
    {"kind": "start", "run_id": "run-20261201T000000Z-abc123", "attempt": 10**20},
    {"kind": "start", "run_id": "run-20261201T000000Z-abc123", "attempt": True},
]


@pytest.mark.parametrize("block", MALFORMED, ids=[str(b) for b in MALFORMED])
def test_a_malformed_start_block_is_no_run_of_maestros(block: dict[str, object]) -> None:
    assert not well_formed_start(block)
    assert well_formed_start({**block, "run_id": "run-20261201T000000Z-abc123", "attempt": 2})


def test_a_lane_folder_restored_from_before_the_handoff_is_rebuilt_not_run_again(
        sandbox: Sandbox, tmp_path: Path) -> None:
    """Breaker 13, F5: a backup of ``.maestro/`` taken while the agent worked, restored after
    the lane reached review. The tracker's completion block for the same run wins: the
    stale folder is archived and the lane rebuilt, so no second agent session pushes a new
    head over the PR a reviewer approved."""
    flag = tmp_path / "agent-working"
    sandbox.add_issue("UN-9", script=f"""
        steps:
          - write: {{path: a.txt, content: a}}
          - commit: a
          - run: touch {flag} && sleep 2
          - handoff: done
        """)
    folder = sandbox.repo / ".maestro" / "lanes" / "UN-9"
    lane = subprocess.Popen([sys.executable, "-m", "maestro", "lane", "UN-9", "--quiet"],
                            cwd=sandbox.repo, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    for _ in range(600):
        if flag.exists() or lane.poll() is not None:
            break
        time.sleep(0.05)
    backup = tmp_path / "backup"
    copy_live_folder(folder, backup)
    assert lane.wait(timeout=120) == 0
    assert sandbox.issue("UN-9").state == "In Review"
    head = sandbox.lane_file("UN-9", "pr.json")["validated_head"]
    shutil.rmtree(folder)
    shutil.copytree(backup, folder)
    flag.unlink()
    sandbox.lane("UN-9")
    assert sandbox.outcome("UN-9") == "waiting"
    assert not flag.exists(), "the agent ran again"
    assert sandbox.lane_file("UN-9", "pr.json")["validated_head"] == head
    assert sandbox.issue("UN-9").state == "In Review"
    sandbox.approve("UN-9")
    sandbox.lane("UN-9")
    assert sandbox.outcome("UN-9") == "finished"
