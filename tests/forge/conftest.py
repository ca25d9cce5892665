"""Fixtures for the forge tests: a bare ``origin`` with a clone, and the fake GitHub on it."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fakes.github_forge import TOKEN, ForgeWorld, github_forge_server
from fakes.loopback import LoopbackServer
from fakes.schemas import load_schema, missing_reason
from graphql import GraphQLSchema

from maestro.forges.github import GitHubForge
from maestro.trackers.http import GraphQLClient, RetryPolicy
from tests.conftest import Sandbox

REPOSITORY = "acme/widgets"
#: Real backoff shapes, every wait shrunk a thousandfold.
FAST = RetryPolicy(attempts=3, time_scale=0.001)


def sh(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                          check=True).stdout.strip()


@dataclass
class Remote:
    """A bare repository standing in for GitHub's git side, and a clone to work in."""

    origin: Path
    clone: Path

    def commit(self, path: str, content: str, message: str) -> str:
        (self.clone / path).write_text(content)
        sh(self.clone, "add", path)
        sh(self.clone, "commit", "--quiet", "-m", message)
        return sh(self.clone, "rev-parse", "HEAD")

    def head(self, ref: str) -> str | None:
        proc = subprocess.run(["git", "rev-parse", "--verify", "--quiet", ref],
                              cwd=self.origin, capture_output=True, text=True, check=False)
        return proc.stdout.strip() or None


@pytest.fixture
def remote(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Remote:
    for key, value in {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
                       "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"
                       }.items():
        monkeypatch.setenv(key, value)
    origin, clone = tmp_path / "origin.git", tmp_path / "clone"
    sh(tmp_path, "init", "--quiet", "--bare", "--initial-branch=main", str(origin))
    sh(tmp_path, "init", "--quiet", "--initial-branch=main", str(clone))
    sh(clone, "remote", "add", "origin", str(origin))
    box = Remote(origin, clone)
    box.commit("README.md", "hello\n", "initial")
    sh(clone, "push", "--quiet", "origin", "main")
    return box


@pytest.fixture(scope="session")
def github_schema() -> GraphQLSchema:
    reason = missing_reason("github")
    if reason:
        pytest.skip(reason)
    return load_schema("github")


@pytest.fixture
def world(remote: Remote, github_schema: GraphQLSchema) -> ForgeWorld:
    return ForgeWorld(remote.origin, REPOSITORY)


@pytest.fixture
def server(world: ForgeWorld) -> Iterator[LoopbackServer]:
    with github_forge_server(world) as running:
        yield running


def make_client(url: str, token: str = TOKEN) -> GraphQLClient:
    return GraphQLClient("github forge", url, lambda: {"Authorization": f"bearer {token}"},
                         timeout_s=5.0, retry=FAST)


@pytest.fixture
def forge(server: LoopbackServer, remote: Remote) -> Iterator[GitHubForge]:
    from maestro.trackers.http import Secret

    adapter = GitHubForge(make_client(server.url), REPOSITORY, remote.clone, "origin",
                          token=Secret(TOKEN))
    yield adapter
    adapter.close()


# -- whole lanes against the fake GitHub ---------------------------------------------------

#: The variable the lanes' ``[github] token_env_var`` names.
TOKEN_VAR = "FAKE_GITHUB_TOKEN"


@pytest.fixture
def github_box(sandbox: Sandbox, github_schema: GraphQLSchema
               ) -> Iterator[tuple[Sandbox, ForgeWorld, LoopbackServer]]:
    """The sandbox with ``provider = "github"`` pointed at a fake GitHub on its origin."""
    world = ForgeWorld(sandbox.origin, REPOSITORY)
    with github_forge_server(world) as server:
        sandbox.edit_workflow('provider = "local"', 'provider = "github"')
        config = sandbox.repo / "maestro.toml"
        config.write_text(config.read_text() + f'\n[github]\ntoken_env_var = "{TOKEN_VAR}"\n'
                          f'graphql_url = "{server.url}"\nrepository = "{REPOSITORY}"\n')
        yield sandbox, world, server


def lane(box: Sandbox, identifier: str) -> str:
    """Run ``maestro lane`` with the fake's token; its outcome."""
    box.lane(identifier, env={TOKEN_VAR: TOKEN})
    return str(box.outcome(identifier))
