"""Fixtures for the tracker adapters: loopback fakes, fast retry policies, fresh clients."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fakes.github_server import TOKEN, GitHubWorld, github_server
from fakes.linear_server import API_KEY, LinearWorld, linear_server
from fakes.loopback import LoopbackServer
from fakes.schemas import load_schema, missing_reason
from graphql import GraphQLSchema

from maestro.trackers.github import GitHubIssuesTracker
from maestro.trackers.http import GraphQLClient, RetryPolicy, Secret, client_for
from maestro.trackers.linear import LinearTracker

#: Real backoff shapes, every wait shrunk a thousandfold: retries run, tests stay fast.
FAST = RetryPolicy(attempts=4, time_scale=0.001)

STATE_LABELS = {"Todo": "status:todo", "In Progress": "status:in-progress",
                "In Review": "status:in-review"}


def schema_or_skip(name: str) -> GraphQLSchema:
    reason = missing_reason(name)
    if reason:
        pytest.skip(reason)
    return load_schema(name)


@pytest.fixture(scope="session")
def linear_schema() -> GraphQLSchema:
    return schema_or_skip("linear")


@pytest.fixture(scope="session")
def github_schema() -> GraphQLSchema:
    return schema_or_skip("github")


def make_client(service: str, url: str, secret: str, scheme: str, timeout_s: float = 5.0,
                retry: RetryPolicy = FAST) -> GraphQLClient:
    client = client_for(service, url, Secret(secret), scheme, timeout_s, retry.attempts,
                        retry.max_rate_limit_wait_s)
    client.retry = retry
    return client


@pytest.fixture
def linear_world(linear_schema: GraphQLSchema) -> LinearWorld:
    return LinearWorld(project_slug="maestro-0a1b2c")


@pytest.fixture
def linear_server_(linear_world: LinearWorld) -> Iterator[LoopbackServer]:
    with linear_server(linear_world) as server:
        yield server
        assert not server.handler.unexpected, server.handler.unexpected  # type: ignore[attr-defined]
        assert not server.handler.invalid, server.handler.invalid  # type: ignore[attr-defined]


@pytest.fixture
def linear(linear_server_: LoopbackServer) -> Iterator[LinearTracker]:
    tracker = LinearTracker(make_client("linear", linear_server_.url, API_KEY, ""),
                            "maestro-0a1b2c", page_size=50)
    yield tracker
    tracker.close()


@pytest.fixture
def github_world(github_schema: GraphQLSchema) -> GitHubWorld:
    world = GitHubWorld("acme/widgets")
    for label in (*STATE_LABELS.values(), "maestro:needs-attention", "bug"):
        world.add_label(label)
    return world


@pytest.fixture
def github_server_(github_world: GitHubWorld) -> Iterator[LoopbackServer]:
    with github_server(github_world) as server:
        yield server
        assert not server.handler.unexpected, server.handler.unexpected  # type: ignore[attr-defined]
        assert not server.handler.invalid, server.handler.invalid  # type: ignore[attr-defined]


@pytest.fixture
def github(github_server_: LoopbackServer) -> Iterator[GitHubIssuesTracker]:
    tracker = GitHubIssuesTracker(make_client("github", github_server_.url, TOKEN, "bearer"),
                                  "acme/widgets", issue_prefix="GH", state_labels=STATE_LABELS)
    yield tracker
    tracker.close()
