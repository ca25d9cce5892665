"""``[forge] provider = "github"`` is wired through ``make_forge`` with clear config errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from maestro.config.service import GithubService, ServiceConfig
from maestro.config.workflow import Workflow, parse_workflow
from maestro.errors import ConfigError
from maestro.forges import make_forge
from maestro.forges.github import GitHubForge

WORKFLOW = """+++
version = 1
[forge]
provider = "github"
remote = "upstream"
+++
Work.
"""


def workflow(tmp_path: Path) -> Workflow:
    return parse_workflow(WORKFLOW, tmp_path / "WORKFLOW.md")


def config(tmp_path: Path, **github: str) -> ServiceConfig:
    return ServiceConfig(repo_root=tmp_path, github=GithubService(**github))


def test_make_forge_builds_the_github_forge(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_GH_TOKEN", "t0ken")
    forge = make_forge(config(tmp_path, token_env_var="MY_GH_TOKEN",
                              repository="acme/widgets"), workflow(tmp_path))
    assert isinstance(forge, GitHubForge)
    assert (forge.owner, forge.repo, forge.remote) == ("acme", "widgets", "upstream")
    assert "t0ken" not in repr(forge) and "t0ken" not in repr(forge.client)
    forge.close()


def test_a_missing_token_variable_is_a_config_error_naming_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MY_GH_TOKEN", raising=False)
    with pytest.raises(ConfigError, match=r"MY_GH_TOKEN.*github\.token_env_var"):
        make_forge(config(tmp_path, token_env_var="MY_GH_TOKEN", repository="acme/widgets"),
                   workflow(tmp_path))


def test_a_missing_repository_is_a_config_error(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "t0ken")
    with pytest.raises(ConfigError, match=r"github\.repository"):
        make_forge(config(tmp_path), workflow(tmp_path))
