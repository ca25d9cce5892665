"""A lane of maestro's with no folder here whose issue a person cancelled in the tracker
while its PR was open has that PR closed: by its own lane process (``maestro lane``,
``doit lane:ID``, a CI job) and by the tick that finds it through the forge's open lane PRs
(``orchestration/unseen.py``, ``lanes/record/rebuild.py``)."""

from __future__ import annotations

import shutil
from collections.abc import Sequence

import pytest

from maestro.config.workflow import TrackerPolicy
from maestro.errors import ConfigError, ForgeError, TrackerError
from maestro.forges.local import LocalForge
from maestro.model import Comment, Issue, PullRequest, PullState
from maestro.orchestration.orchestrator import Orchestrator
from maestro.orchestration.unseen import (
    CHECKS_PER_TICK,
    RECHECK_S,
    UnseenLanes,
    lane_identifiers,
)
from tests.conftest import Sandbox

SCRIPT = """
    steps:
      - write: {path: a.txt, content: a}
      - commit: a
      - handoff: done
    """


def forge(sandbox: Sandbox) -> LocalForge:
    return LocalForge(sandbox.repo, "origin")


def in_review_without_folder(sandbox: Sandbox, identifier: str, state: str) -> PullRequest:
    """A lane run to review, its folder deleted, its issue moved to ``state`` by a person."""
    sandbox.add_issue(identifier, script=SCRIPT)
    sandbox.lane(identifier)
    assert sandbox.issue(identifier).state == "In Review"
    shutil.rmtree(sandbox.repo / ".maestro" / "lanes" / identifier)
    sandbox.tracker.transition(identifier, state)
    pr = forge(sandbox).find_pr(f"maestro/{identifier.lower()}")
    assert pr is not None and pr.state == PullState.OPEN
    return pr


def pr_state(sandbox: Sandbox, number: int) -> PullState:
    return forge(sandbox).get(number).state


@pytest.mark.slow
def test_the_lane_of_an_issue_cancelled_in_the_tracker_closes_its_open_pr(
        sandbox: Sandbox) -> None:
    pr = in_review_without_folder(sandbox, "CX-1", "Canceled")
    sandbox.lane("CX-1")
    assert pr_state(sandbox, pr.number) == PullState.CLOSED
    assert sandbox.outcome("CX-1") == "terminated"
    assert sandbox.lane_file("CX-1", "cleanup.json")["reason"] == "cancelled"
    assert sandbox.issue("CX-1").state == "Canceled"  # the person's state stays


@pytest.mark.slow
def test_the_tick_finds_a_cancelled_lane_with_no_folder_and_its_lane_closes_the_pr(
        sandbox: Sandbox) -> None:
    pr = in_review_without_folder(sandbox, "CX-2", "Canceled")
    plan = Orchestrator(sandbox.config).tick()
    assert [(d.issue, d.agent) for d in plan.dispatches] == [("CX-2", False)]
    assert pr_state(sandbox, pr.number) == PullState.CLOSED
    assert sandbox.outcome("CX-2") == "terminated"


@pytest.mark.slow
def test_an_issue_a_person_moved_to_done_keeps_its_open_pr(sandbox: Sandbox) -> None:
    pr = in_review_without_folder(sandbox, "CX-3", "Done")
    assert Orchestrator(sandbox.config).tick().dispatches == ()
    sandbox.lane("CX-3")
    assert pr_state(sandbox, pr.number) == PullState.OPEN


@pytest.mark.slow
def test_a_cancelled_issue_maestro_never_ran_keeps_the_pr_of_its_branch(
        sandbox: Sandbox) -> None:
    """A person's own PR from a branch of the lane's name, for an issue without maestro's
    start block: not maestro's to close."""
    sandbox.add_issue("CX-4", state="Canceled")
    subject = forge(sandbox)
    branch = "maestro/cx-4"
    sandbox_git = ["git", "-C", str(sandbox.repo)]
    import subprocess

    subprocess.run([*sandbox_git, "branch", branch, "HEAD"], check=True)
    subject.push(sandbox.repo, branch, head=subprocess.run(
        [*sandbox_git, "rev-parse", "HEAD"], capture_output=True, text=True,
        check=True).stdout.strip())
    pr = subject.open_pr(branch, "main", "a person's change", "")
    assert Orchestrator(sandbox.config).tick().dispatches == ()
    sandbox.lane("CX-4")
    assert pr_state(sandbox, pr.number) == PullState.OPEN


@pytest.mark.slow
def test_a_folder_left_by_a_lane_stopped_before_its_claim_does_not_hide_the_lane(
        sandbox: Sandbox) -> None:
    """The adopting lane process was killed in its claim: only its lock and holder file
    are in the folder (breaker 21, F1)."""
    pr = in_review_without_folder(sandbox, "CX-5", "Canceled")
    stub = sandbox.repo / ".maestro" / "lanes" / "CX-5"
    stub.mkdir(parents=True)
    (stub / "holder.json").write_text('{"pid": 999999, "host": "gone", "role": "lane"}')
    (stub / "lane.lock").write_text("")
    Orchestrator(sandbox.config).tick()
    assert pr_state(sandbox, pr.number) == PullState.CLOSED


@pytest.mark.slow
def test_a_persons_pr_from_a_delivered_lanes_branch_is_not_closed(sandbox: Sandbox) -> None:
    """The lane merged; later a person opened a PR from the same branch and the issue was
    cancelled: that PR is not the lane's (breaker 21, F3)."""
    import subprocess

    sandbox.add_issue("CX-6", script=SCRIPT)
    sandbox.lane("CX-6")
    sandbox.approve("CX-6")
    sandbox.lane("CX-6")
    assert sandbox.outcome("CX-6") == "finished"
    shutil.rmtree(sandbox.repo / ".maestro" / "lanes" / "CX-6")
    branch, subject = "maestro/cx-6", forge(sandbox)
    git = ["git", "-C", str(sandbox.repo)]
    subprocess.run([*git, "branch", "-f", branch, "HEAD"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()
    subject.push(sandbox.repo, branch, head=head)
    follow_up = subject.open_pr(branch, "main", "a person's follow-up", "")
    sandbox.tracker.transition("CX-6", "Canceled")
    Orchestrator(sandbox.config).tick()
    sandbox.lane("CX-6")
    assert pr_state(sandbox, follow_up.number) == PullState.OPEN


@pytest.mark.slow
def test_a_cancel_in_the_tracker_is_not_reported_as_an_operators(sandbox: Sandbox) -> None:
    """Breaker 21, F4: no operator acted; the PR and the logs say who did."""
    import json

    pr = in_review_without_folder(sandbox, "CX-7", "Canceled")
    sandbox.lane("CX-7")
    closed = forge(sandbox).get(pr.number)
    said = " ".join(str(c.get("body")) for c in closed.extra.get("comments") or [])
    assert "an operator" not in said and "Canceled in the tracker" in said
    log = sandbox.repo / ".maestro" / "logs" / "maestro.jsonl"
    events = [json.loads(line).get("event") for line in log.read_text().splitlines()]
    assert "tracker_cancel" in events and "operator_cancel" not in events


POLICY = TrackerPolicy()


@pytest.mark.parametrize(("state", "cancelled"), [
    ("Canceled", True), ("Duplicate", True), ("canceled", True),
    ("Done", False),              # a person's to settle with its PR
    ("In Review", False), ("Todo", False),
])
def test_which_states_count_as_a_person_cancelling(state: str, cancelled: bool) -> None:
    assert POLICY.is_cancelled(state) is cancelled


def test_a_configured_completed_state_is_never_a_cancel() -> None:
    policy = TrackerPolicy(terminal_states=["Shipped", "Dropped"], completed_state="Shipped")
    assert [policy.is_cancelled(s) for s in ("Shipped", "Dropped")] == [False, True]


def pull(branch: str, number: int = 1) -> PullRequest:
    return PullRequest(number=number, url=f"local://origin/pulls/{number}", branch=branch,
                       base="main", head="0" * 40)


@pytest.mark.parametrize(("branches", "identifiers"), [
    (["maestro/abc-1", "maestro/abc-2"], ["ABC-1", "ABC-2"]),
    (["maestro/abc-1", "maestro/abc-1"], ["ABC-1"]),          # a PR reopened: once
    (["feature/abc-1", "maestro/"], []),                      # not a lane branch
    (["maestro/../x", "maestro/a b"], []),                    # names no identifier
])
def test_lane_branches_name_their_issues(branches: list[str],
                                         identifiers: list[str]) -> None:
    assert lane_identifiers([pull(b) for b in branches], "maestro/") == identifiers


START = ('<!-- maestro:state {"kind":"start","run_id":"run-20261201T000000Z-abc123",'
         '"attempt":1} -->')


class Tracker:
    """Issues in given states; maestro's start block on ``ours``; counts what it was asked."""

    def __init__(self, states: dict[str, str], ours: Sequence[str] = (),
                 broken: Sequence[str] = ()) -> None:
        self.states, self.ours, self.broken = states, set(ours), set(broken)
        self.asked: list[str] = []

    def get(self, identifier: str) -> Issue:
        self.asked.append(identifier)
        if identifier in self.broken:
            raise TrackerError(f"{identifier}: HTTP 502")
        return Issue(id=identifier, identifier=identifier, title=identifier,
                     state=self.states[identifier])

    def comments(self, identifier: str) -> list[Comment]:
        body = START if identifier in self.ours else "looks good to me"
        return [Comment(id="c1", body=body, own=True)]


class Prs:
    def __init__(self, branches: Sequence[str] = (), fail: bool = False) -> None:
        self.branches, self.fail, self.calls = list(branches), fail, 0

    def __call__(self) -> list[PullRequest]:
        self.calls += 1
        if self.fail:
            raise ForgeError("github: HTTP 502")
        return [pull(b, n) for n, b in enumerate(self.branches, start=1)]


def find(unseen: UnseenLanes, tracker: Tracker, prs: Prs, now: float,
         listed: Sequence[str] = (), lanes: Sequence[str] = ()) -> list[str]:
    found = unseen.find_cancelled(tracker, prs, listed, lanes, "maestro/",  # type: ignore[arg-type]
                                  POLICY, now=now)
    return [issue.identifier for issue in found]


def test_a_cancelled_issue_of_maestros_with_an_open_pr_is_found() -> None:
    tracker = Tracker({"C-1": "Canceled", "C-2": "Canceled", "C-3": "Done"}, ours=["C-1", "C-3"])
    prs = Prs(["maestro/c-1", "maestro/c-2", "maestro/c-3"])
    assert find(UnseenLanes(), tracker, prs, now=0.0) == ["C-1"]


def test_issues_with_a_folder_or_listed_by_the_tick_are_not_looked_up() -> None:
    tracker = Tracker({"C-1": "Canceled", "C-2": "Canceled"}, ours=["C-1", "C-2"])
    prs = Prs(["maestro/c-1", "maestro/c-2"])
    assert find(UnseenLanes(), tracker, prs, 0.0, listed=["C-1"], lanes=["C-2"]) == []
    assert tracker.asked == []


def test_the_forge_is_asked_for_open_lane_prs_at_most_every_recheck_interval() -> None:
    unseen, prs = UnseenLanes(), Prs()
    tracker = Tracker({})
    for now in (0.0, 1.0, RECHECK_S - 1):
        find(unseen, tracker, prs, now)
    assert prs.calls == 1
    find(unseen, tracker, prs, RECHECK_S + 1)
    assert prs.calls == 2


def test_a_forge_that_cannot_answer_is_asked_again_next_tick() -> None:
    unseen, failing = UnseenLanes(), Prs(fail=True)
    assert find(unseen, Tracker({}), failing, 0.0) == []
    find(unseen, Tracker({}), failing, 1.0)
    assert failing.calls == 2


def test_a_forge_that_cannot_be_made_never_ends_the_tick() -> None:
    def unconfigured() -> list[PullRequest]:
        raise ConfigError("[github] token_env_var: GITHUB_TOKEN is not set")

    assert find(UnseenLanes(), Tracker({}), unconfigured, 0.0) == []  # type: ignore[arg-type]


def test_one_issue_that_cannot_be_read_does_not_stop_the_rest() -> None:
    tracker = Tracker({"C-2": "Canceled"}, ours=["C-2"], broken=["C-1"])
    assert find(UnseenLanes(), tracker, Prs(["maestro/c-1", "maestro/c-2"]), 0.0) == ["C-2"]


def test_a_tick_looks_up_a_bounded_number_of_cancelled_lanes() -> None:
    states = {f"C-{n}": "Canceled" for n in range(CHECKS_PER_TICK + 5)}
    tracker = Tracker(states)
    find(UnseenLanes(), tracker, Prs([f"maestro/c-{n}" for n in range(len(states))]), 0.0)
    assert len(tracker.asked) == CHECKS_PER_TICK


def test_lanes_past_the_bound_are_looked_up_on_the_next_tick() -> None:
    states = {f"C-{n}": "Canceled" for n in range(CHECKS_PER_TICK + 5)}
    tracker, unseen = Tracker(states), UnseenLanes()
    prs = Prs([f"maestro/c-{n}" for n in range(len(states))])
    find(unseen, tracker, prs, 0.0)
    find(unseen, tracker, prs, 1.0)
    assert prs.calls == 2
