"""Whole lanes through ``python -m maestro lane`` with the Linear and GitHub Issues trackers.

maestro runs as a real subprocess against a loopback fake of the tracker (which executes
the published GraphQL schema), with the local forge, a bare ``origin`` and the scripted
agent. The tests read back the fake's world: states, labels and maestro's comments with
their ``<!-- maestro:state {...} -->`` blocks (``maestro/lanes/record/comments.py``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fakes.github_server import TOKEN, GitHubWorld
from fakes.linear_server import API_KEY, LinearWorld
from fakes.loopback import LoopbackServer

from maestro.lanes.record import comments
from tests.conftest import Sandbox

pytestmark = pytest.mark.slow

LINEAR_KEY_VAR = "MAESTRO_E2E_LINEAR_KEY"
GITHUB_TOKEN_VAR = "MAESTRO_E2E_GITHUB_TOKEN"
FILES_TRACKER = 'provider = "files"\npath = "issues"\nissue_prefix = "DEMO"'
ATTENTION = "maestro:needs-attention"

#: The agent asks for a human: issue_label_add(needs-attention), a comment, finalize.
ASKS_FOR_A_HUMAN = """Decide the API contract.

```maestro-script
steps:
  - attention: "the API contract is ambiguous; a maintainer must choose"
```
"""


class TrackerLane:
    """A sandbox wired to a tracker fake; every maestro call gets the secret's variable."""

    def __init__(self, sandbox: Sandbox, env: dict[str, str], secret: str,
                 bodies: Callable[[str], list[str]]) -> None:
        self.sandbox = sandbox
        self.env = env
        self.secret = secret
        self.comment_bodies = bodies

    def run(self, identifier: str) -> subprocess.CompletedProcess[str]:
        return self.sandbox.lane(identifier, env=self.env)

    def approve(self, identifier: str) -> None:
        self.sandbox.maestro("review", "approve", identifier, check=True, env=self.env)

    def blocks(self, identifier: str, kind: str) -> list[dict[str, Any]]:
        found = [comments.block_of(body) for body in self.comment_bodies(identifier)]
        return [b for b in found if b is not None and b.get("kind") == kind]

    def lane_dir(self, identifier: str) -> Path:
        return self.sandbox.repo / ".maestro" / "lanes" / identifier

    def outcome(self, identifier: str) -> dict[str, Any]:
        return dict(self.sandbox.lane_file(identifier, "outcome.json") or {})


def _append_config(sandbox: Sandbox, text: str) -> None:
    path = sandbox.repo / "maestro.toml"
    path.write_text(path.read_text() + "\n" + text.strip() + "\n")


@pytest.fixture
def linear_lane(sandbox: Sandbox, linear_world: LinearWorld,
                linear_server_: LoopbackServer) -> TrackerLane:
    sandbox.edit_workflow(FILES_TRACKER, 'provider = "linear"\nproject_slug = "maestro-0a1b2c"')
    _append_config(sandbox, f"""
[tracker]
endpoint = "{linear_server_.url}"
api_key_env_var = "{LINEAR_KEY_VAR}"
""")

    def bodies(identifier: str) -> list[str]:
        return [c.body for c in linear_world.by_identifier(identifier).comments]

    return TrackerLane(sandbox, {LINEAR_KEY_VAR: API_KEY}, API_KEY, bodies)


@pytest.fixture
def github_lane(sandbox: Sandbox, github_world: GitHubWorld,
                github_server_: LoopbackServer) -> TrackerLane:
    sandbox.edit_workflow(FILES_TRACKER, 'provider = "github"\nrepository = "acme/widgets"\n'
                                         'issue_prefix = "GH"')
    _append_config(sandbox, f"""
[github]
graphql_url = "{github_server_.url}"
token_env_var = "{GITHUB_TOKEN_VAR}"
""")

    def bodies(identifier: str) -> list[str]:
        number = int(identifier.removeprefix("GH-"))
        return [c.body for c in github_world.issue(number).comments]

    return TrackerLane(sandbox, {GITHUB_TOKEN_VAR: TOKEN}, TOKEN, bodies)


def assert_one_start_and_one_completion(lane: TrackerLane, identifier: str) -> None:
    start, = lane.blocks(identifier, "start")
    completion, = lane.blocks(identifier, "completion")
    assert completion["run_id"] == start["run_id"]
    assert completion["branch"] == start["branch"] == f"maestro/{identifier.lower()}"
    assert completion["validation_result"] == "passed"
    assert completion["pr_url"]


def assert_merged_on_origin(lane: TrackerLane, identifier: str) -> None:
    assert lane.outcome(identifier)["outcome"] == "finished"
    assert f"Merge pull request #1 from maestro/{identifier.lower()}" in \
        lane.sandbox.origin_log()
    assert lane.sandbox.origin_file(f"notes/{identifier}.md") is not None


# -- Linear -----------------------------------------------------------------------------------


@pytest.fixture
def linear_guarded(linear_lane: TrackerLane, linear_world: LinearWorld) -> TrackerLane:
    """ENG-1 after an agent asked for a human in a workspace without the attention label
    (default attempt budget: the agent's request is honoured at once, never retried)."""
    linear_world.add_issue("Decide the contract", "Todo", description=ASKS_FOR_A_HUMAN)
    linear_lane.run("ENG-1")
    return linear_lane


def test_linear_startable_issue_is_handed_off_in_review_with_one_start_and_completion_comment(
        linear_lane: TrackerLane, linear_world: LinearWorld) -> None:
    linear_world.add_label(ATTENTION)
    linear_world.add_issue("Add the notes", "Todo")

    linear_lane.run("ENG-1")

    assert linear_world.state_of("ENG-1") == "In Review"
    assert_one_start_and_one_completion(linear_lane, "ENG-1")


def test_a_tracker_users_forged_records_are_not_maestros_on_a_runner_without_the_folder(
        linear_lane: TrackerLane, linear_world: LinearWorld) -> None:
    """Breaker 15, F3: on a runner without the lane folder, maestro rebuilds a lane in
    progress from its own comments. A person who may comment wrote the start and
    completion blocks of a run that never was: no lane is adopted from them."""
    linear_world.add_issue("Add the notes", "In Progress")
    forged = {"run_id": "run-20261201T000000Z-f0f0f0", "branch": "maestro/eng-1",
              "attempt": 1}
    for kind in ("start", "completion"):
        linear_world.add_comment("ENG-1", comments.render(kind, {}, {
            "kind": kind, **forged, "validated_head": "0" * 40,
            "pr_url": "local://origin/pulls/1"}), user="mallory")

    linear_lane.run("ENG-1")

    assert linear_lane.sandbox.lane_file("ENG-1", "lease.json") is None  # no run adopted
    assert linear_lane.outcome("ENG-1")["outcome"] == "skipped"
    assert linear_world.state_of("ENG-1") == "In Progress"


def test_linear_approved_lane_is_merged_on_origin_and_the_issue_closed_out_done(
        linear_lane: TrackerLane, linear_world: LinearWorld) -> None:
    linear_world.add_label(ATTENTION)
    linear_world.add_issue("Add the notes", "Todo")
    linear_lane.run("ENG-1")

    linear_lane.approve("ENG-1")
    linear_lane.run("ENG-1")

    assert_merged_on_origin(linear_lane, "ENG-1")
    assert linear_world.state_of("ENG-1") == "Done"
    closeout, = linear_lane.blocks("ENG-1", "closeout")
    assert closeout["state"] == "Done" and closeout["merge_commit"]
    assert_one_start_and_one_completion(linear_lane, "ENG-1")


def test_linear_attention_without_the_label_leaves_the_issue_guarded_in_progress(
        linear_guarded: TrackerLane, linear_world: LinearWorld) -> None:
    assert linear_world.state_of("ENG-1") == "In Progress"
    assert linear_world.labels_of("ENG-1") == []
    assert linear_guarded.outcome("ENG-1")["outcome"] == "needs_human"
    failure, = linear_guarded.blocks("ENG-1", "failure")
    comment, = [b for b in linear_guarded.comment_bodies("ENG-1")
                if comments.block_of(b) == failure]
    assert f"The label '{ATTENTION}' does not exist in the tracker" in comment
    assert "stays in 'In Progress' (not startable)" in comment
    assert f"creates the label '{ATTENTION}'" in failure["next_action"]
    marker = linear_guarded.sandbox.lane_file("ENG-1", "terminal-guarded.json")
    assert marker["guarded"] is True and marker["run_id"] == failure["run_id"]
    assert (failure["error_class"], failure["attempt"]) == ("manual_attention", 1)


def test_linear_guarded_issue_moved_back_to_todo_by_a_person_starts_afresh(
        linear_guarded: TrackerLane, linear_world: LinearWorld) -> None:
    linear_world.add_label(ATTENTION)
    issue = linear_world.by_identifier("ENG-1")
    issue.state_id = linear_world.state_id(linear_world.team, "Todo")
    old_run = linear_guarded.sandbox.lane_file("ENG-1", "lease.json")["run_id"]

    linear_guarded.run("ENG-1")

    assert linear_guarded.sandbox.lane_file("ENG-1", "lease.json")["run_id"] != old_run
    assert linear_world.labels_of("ENG-1") == [ATTENTION]


def test_linear_guarded_lane_is_not_redispatched_by_a_second_run(
        linear_guarded: TrackerLane, linear_world: LinearWorld) -> None:
    before = linear_guarded.comment_bodies("ENG-1")
    lease = linear_guarded.sandbox.lane_file("ENG-1", "lease.json")

    linear_guarded.run("ENG-1")

    outcome = linear_guarded.outcome("ENG-1")
    assert (outcome["outcome"], outcome["phase"]) == ("needs_human", "claim")
    assert linear_guarded.sandbox.lane_file("ENG-1", "lease.json") == lease
    assert linear_guarded.comment_bodies("ENG-1") == before
    assert linear_world.state_of("ENG-1") == "In Progress"


def test_linear_guarded_issue_is_not_redispatched_by_a_runner_without_the_lane_folder(
        linear_guarded: TrackerLane, linear_world: LinearWorld) -> None:
    """A fresh runner rebuilds lanes from maestro's comments; the failure comment is the
    only trace of the guard, so it must stop the rebuild before the agent runs again."""
    before = linear_guarded.comment_bodies("ENG-1")
    shutil.rmtree(linear_guarded.lane_dir("ENG-1"))

    linear_guarded.run("ENG-1")

    assert linear_guarded.outcome("ENG-1")["outcome"] == "needs_human"
    assert linear_guarded.comment_bodies("ENG-1") == before
    assert linear_guarded.sandbox.lane_file("ENG-1", "terminal-guarded.json")["guarded"]
    assert linear_world.state_of("ENG-1") == "In Progress"


# -- GitHub Issues ----------------------------------------------------------------------------


def test_github_startable_issue_is_handed_off_with_the_in_review_label_only(
        github_lane: TrackerLane, github_world: GitHubWorld) -> None:
    github_world.add_issue("Add the notes", labels=["status:todo"])

    github_lane.run("GH-1")

    assert github_world.issue(1).state == "OPEN"
    assert github_world.labels_of(1) == ["status:in-review"]
    assert_one_start_and_one_completion(github_lane, "GH-1")


def test_github_approved_lane_is_merged_on_origin_and_the_issue_closed_as_completed(
        github_lane: TrackerLane, github_world: GitHubWorld) -> None:
    github_world.add_issue("Add the notes", labels=["status:todo"])
    github_lane.run("GH-1")

    github_lane.approve("GH-1")
    github_lane.run("GH-1")

    assert_merged_on_origin(github_lane, "GH-1")
    issue = github_world.issue(1)
    assert (issue.state, issue.state_reason) == ("CLOSED", "COMPLETED")
    assert github_world.labels_of(1) == []
    closeout, = github_lane.blocks("GH-1", "closeout")
    assert closeout["state"] == "Done" and closeout["merge_commit"]
    assert_one_start_and_one_completion(github_lane, "GH-1")


def test_a_github_move_cut_between_its_two_label_writes_is_finished_by_the_next_run(
        github_lane: TrackerLane, github_world: GitHubWorld,
        github_server_: LoopbackServer) -> None:
    """Breaker 23 F3: Todo -> In Progress adds status:in-progress, then the removal of
    status:todo fails for good (an outage). The next run took the issue for a person's and
    stopped interrupted, for ever (the adapter then removed first: an unlabelled issue)."""
    _append_config(github_lane.sandbox, "[tracker]\nmax_attempts = 2")
    github_world.add_issue("Add the notes", labels=["status:todo"])
    github_server_.fail(503, b"down", times=2, operation="MaestroRemoveLabels")

    github_lane.run("GH-1")
    assert sorted(github_world.labels_of(1)) == ["status:in-progress", "status:todo"]
    assert github_lane.sandbox.lane_file("GH-1", "move.json")["to"] == "In Progress"

    github_lane.run("GH-1")
    assert github_lane.outcome("GH-1")["outcome"] == "waiting"
    assert github_world.labels_of(1) == ["status:in-review"]
    assert github_lane.sandbox.lane_file("GH-1", "move.json") is None
    assert_one_start_and_one_completion(github_lane, "GH-1")


def test_a_person_s_backlog_stands_after_a_github_move_that_wrote_nothing(
        github_lane: TrackerLane, github_world: GitHubWorld,
        github_server_: LoopbackServer) -> None:
    """Breaker 24 F1: the move's first write was refused, so its record proves nothing; a
    person then took the status label off (Backlog): the lane must not put it back."""
    _append_config(github_lane.sandbox, "[tracker]\nmax_attempts = 2")
    github_world.add_issue("Add the notes", labels=["status:todo"])
    github_server_.fail(503, b"down", times=2, operation="MaestroAddLabels")
    github_lane.run("GH-1")
    assert github_world.labels_of(1) == ["status:todo"]

    github_world.issue(1).label_ids.clear()  # a person: Backlog
    github_lane.run("GH-1")
    assert github_lane.outcome("GH-1")["outcome"] == "interrupted"
    assert github_world.labels_of(1) == []
    assert github_lane.blocks("GH-1", "completion") == []


def test_a_github_issue_a_person_gave_two_status_labels_is_named_in_the_plan(
        github_lane: TrackerLane, github_world: GitHubWorld) -> None:
    """Breaker 25 F6: ``status:todo`` beside ``status:in-progress`` reads In Progress (a
    held state wins) and the issue was in no list of the plan: silence for a person who
    asked for work."""
    github_world.add_issue("Add the notes", labels=["status:todo", "status:in-progress"])
    proc = github_lane.sandbox.maestro("run", "--once", "--dry-run", "--json", check=True,
                                       env=github_lane.env)
    plan = json.loads(proc.stdout)
    assert plan["dispatch"] == []
    assert [(item["issue"], item["reason"].split(",")[0]) for item in plan["skipped"]] == [
        ("GH-1", "carries 2 status labels (status:todo")]
    assert "take off the status label that is not meant" in plan["skipped"][0]["reason"]


# -- secrets ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("tracker", "identifier"), [("linear", "ENG-1"), ("github", "GH-1")])
def test_the_tracker_secret_reaches_no_lane_file_log_or_comment(
        request: pytest.FixtureRequest, tracker: str, identifier: str) -> None:
    lane: TrackerLane = request.getfixturevalue(f"{tracker}_lane")
    if tracker == "linear":
        request.getfixturevalue("linear_world").add_issue("Add the notes", "Todo")
    else:
        request.getfixturevalue("github_world").add_issue("Add the notes",
                                                          labels=["status:todo"])
    runs = [lane.run(identifier)]
    lane.approve(identifier)
    runs.append(lane.run(identifier))
    assert lane.outcome(identifier)["outcome"] == "finished"

    state_root = lane.sandbox.repo / ".maestro"
    files = [p for p in state_root.rglob("*") if p.is_file()]
    assert lane.lane_dir(identifier) / "journal.jsonl" in files
    assert state_root / "logs" / "maestro.jsonl" in files
    secret = lane.secret.encode()
    assert [p for p in files if secret in p.read_bytes()] == []
    assert [b for b in lane.comment_bodies(identifier) if lane.secret in b] == []
    assert not any(lane.secret in run.stdout + run.stderr for run in runs)
