"""``make_tracker`` builds the Linear and GitHub adapters from maestro.toml + WORKFLOW.md."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes.github_server import TOKEN, GitHubWorld
from fakes.linear_server import API_KEY, LinearWorld
from fakes.loopback import LoopbackServer

from maestro.config.service import GithubService, ServiceConfig, TrackerService
from maestro.config.workflow import TrackerPolicy, Workflow, WorkflowPolicy
from maestro.errors import ConfigError
from maestro.trackers import make_tracker
from maestro.trackers.github import GitHubIssuesTracker
from maestro.trackers.linear import LinearTracker

KEY_VAR = "MAESTRO_TEST_TRACKER_KEY"


def workflow(**tracker: object) -> Workflow:
    policy = WorkflowPolicy(tracker=TrackerPolicy.model_validate(tracker))
    return Workflow(policy=policy, body="", source=Path("WORKFLOW.md"))


def config(url: str = "http://127.0.0.1:9/graphql", **github: object) -> ServiceConfig:
    return ServiceConfig(
        tracker=TrackerService(api_key_env_var=KEY_VAR, endpoint=url),
        github=GithubService(token_env_var=KEY_VAR, graphql_url=url, **github),  # type: ignore[arg-type]
    )


def test_linear_without_its_key_variable_names_the_variable_only(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_VAR, raising=False)
    with pytest.raises(ConfigError, match=f"{KEY_VAR} is not set"):
        make_tracker(config(), workflow(provider="linear", project_slug="abc"))


def test_linear_without_a_project_slug_is_a_config_error(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_VAR, "secret-value")
    with pytest.raises(ConfigError, match=r"tracker\.project_slug") as caught:
        make_tracker(config(), workflow(provider="linear"))
    assert "secret-value" not in str(caught.value)


def test_github_without_a_repository_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_VAR, "secret-value")
    with pytest.raises(ConfigError, match=r"tracker\.repository"):
        make_tracker(config(), workflow(provider="github"))


def test_github_takes_the_repository_from_maestro_toml_when_the_workflow_has_none(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_VAR, "secret-value")
    tracker = make_tracker(config(repository="acme/widgets"), workflow(provider="github"))
    assert isinstance(tracker, GitHubIssuesTracker)
    assert (tracker.owner, tracker.repo) == ("acme", "widgets")
    assert "secret-value" not in repr(tracker.client)


def test_linear_from_config_reads_the_loopback_service(
        monkeypatch: pytest.MonkeyPatch, linear_world: LinearWorld,
        linear_server_: LoopbackServer) -> None:
    monkeypatch.setenv(KEY_VAR, API_KEY)
    linear_world.add_issue("ready", "Todo")
    tracker = make_tracker(config(linear_server_.url),
                           workflow(provider="linear", project_slug="maestro-0a1b2c"))
    assert isinstance(tracker, LinearTracker)
    assert [i.identifier for i in tracker.candidates(["Todo"])] == ["ENG-1"]
    tracker.close()


def test_github_from_config_uses_the_workflows_state_mapping(
        monkeypatch: pytest.MonkeyPatch, github_world: GitHubWorld,
        github_server_: LoopbackServer) -> None:
    monkeypatch.setenv(KEY_VAR, TOKEN)
    github_world.add_label("workflow:ready")
    github_world.add_issue("ready", labels=["workflow:ready"])
    tracker = make_tracker(
        config(github_server_.url),
        workflow(provider="github", repository="acme/widgets", issue_prefix="W",
                 state_labels={"Todo": "workflow:ready"}),
    )
    assert [(i.identifier, i.state) for i in tracker.candidates(["Todo"])] == [("W-1", "Todo")]
    tracker.close()
