"""Lanes as CI jobs: the planner's matrix, the workflow template, and dispatch mode."""

from __future__ import annotations

import io
import json
import threading
import tomllib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from maestro import __version__
from maestro.cli import build_parser
from maestro.orchestration.orchestrator import Orchestrator
from maestro.scaffold.ci import DISTRIBUTION
from tests.conftest import Sandbox


def test_plan_prints_a_github_actions_matrix(sandbox: Sandbox) -> None:
    sandbox.add_issue("CI-1", priority=2)
    sandbox.add_issue("CI-2", priority=1)
    sandbox.add_issue("CI-3", blocked_by=["CI-1"])
    proc = sandbox.maestro("plan", "--github-matrix", check=True)
    assert json.loads(proc.stdout) == {"include": [{"issue": "CI-2"}, {"issue": "CI-1"}]}


def test_plan_includes_lanes_in_review_that_can_move(sandbox: Sandbox) -> None:
    sandbox.add_issue("CI-4")
    sandbox.lane("CI-4")
    assert json.loads(sandbox.maestro("plan", "--github-matrix").stdout) == {"include": []}
    sandbox.approve("CI-4")
    assert json.loads(sandbox.maestro("plan", "--github-matrix").stdout) == {
        "include": [{"issue": "CI-4"}]}


def test_init_writes_a_valid_github_workflow(sandbox: Sandbox) -> None:
    proc = sandbox.maestro("init", "--ci", "github", check=True)
    assert ".github/workflows/maestro.yml" in proc.stdout
    text = (sandbox.repo / ".github" / "workflows" / "maestro.yml").read_text()
    workflow = YAML(typ="safe", pure=True).load(io.StringIO(text))
    assert set(workflow["jobs"]) == {"plan", "lane"}
    assert "workflow_dispatch" in workflow["on"] and "schedule" in workflow["on"]
    lane = workflow["jobs"]["lane"]
    assert lane["concurrency"]["group"] == "maestro-lane-${{ matrix.issue }}"
    assert lane["strategy"]["matrix"] == "${{ fromJSON(needs.plan.outputs.matrix) }}"
    runs = [step.get("run", "") for step in lane["steps"]]
    assert "doit lane:${{ matrix.issue }}" in runs
    assert any("@openai/codex@" in run for run in runs)
    plan_script = "\n".join(step.get("run", "") for step in workflow["jobs"]["plan"]["steps"])
    assert "maestro plan --github-matrix" in plan_script
    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert "plan" in commands
    assert "secrets." not in plan_script, "secrets must reach steps only through env"


def test_init_does_not_overwrite_an_existing_workflow(sandbox: Sandbox) -> None:
    sandbox.maestro("init", "--ci", "github", check=True)
    again = sandbox.maestro("init", "--ci", "github")
    assert again.returncode == 2
    assert "already exists" in again.stderr


def _installs(text: str) -> tuple[str, list[str]]:
    """The workflow's ``MAESTRO_PACKAGE`` and every ``pip install`` line it runs."""
    workflow = YAML(typ="safe", pure=True).load(io.StringIO(text))
    runs = [step.get("run", "") for job in workflow["jobs"].values() for step in job["steps"]]
    return workflow["env"]["MAESTRO_PACKAGE"], [r for r in runs if "pip install" in r]


def test_the_ci_workflow_installs_this_maestro_version_by_its_own_distribution_name(
        sandbox: Sandbox) -> None:
    sandbox.maestro("init", "--ci", "github", check=True)
    package, installs = _installs(
        (sandbox.repo / ".github" / "workflows" / "maestro.yml").read_text())
    assert package == f"{DISTRIBUTION}=={__version__}"
    assert installs and all(r == 'pip install "$MAESTRO_PACKAGE"' for r in installs)


def test_the_ci_workflow_can_pin_a_git_commit_the_operator_controls(sandbox: Sandbox) -> None:
    pin = "git+https://github.com/acme/maestro.git@" + "0" * 40
    sandbox.maestro("init", "--ci", "github", "--ci-package", pin, check=True)
    package, _ = _installs((sandbox.repo / ".github" / "workflows" / "maestro.yml").read_text())
    assert package == pin


@pytest.mark.parametrize("requirement", ["maestro", "maestro==1.0.0", DISTRIBUTION,
                                         f"{DISTRIBUTION}>=0.1",
                                         "git+https://github.com/acme/maestro.git@main"])
def test_an_unpinned_ci_package_is_refused_naming_the_option(sandbox: Sandbox,
                                                             requirement: str) -> None:
    proc = sandbox.maestro("init", "--ci", "github", "--ci-package", requirement)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "--ci-package" in proc.stderr
    assert not (sandbox.repo / ".github" / "workflows" / "maestro.yml").exists()


def test_the_distribution_name_is_not_the_public_index_maestro() -> None:
    meta = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    assert meta["project"]["name"] == DISTRIBUTION != "maestro"
    assert all(not dep.startswith("maestro[") for dep in
               meta["project"]["optional-dependencies"]["dev"])


class _Recorder(BaseHTTPRequestHandler):
    calls: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.calls.append({"path": self.path, "body": body,
                           "auth": self.headers.get("Authorization")})
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture
def fake_github() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    _Recorder.calls = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Recorder.calls
    server.shutdown()


def test_dispatch_mode_triggers_workflow_dispatch_once_per_lane(
        sandbox: Sandbox, fake_github: tuple[str, list[dict[str, Any]]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    url, calls = fake_github
    (sandbox.repo / "maestro.toml").write_text(
        (sandbox.repo / "maestro.toml").read_text()
        + f'\n[github]\napi_url = "{url}"\nrepository = "acme/app"\ntoken_env_var = "T_TOKEN"\n'
        + '\n[dispatch]\nmode = "github-actions"\n')
    monkeypatch.setenv("T_TOKEN", "s3cret-token")
    sandbox.add_issue("CI-5")
    orchestrator = Orchestrator(sandbox.config)
    assert orchestrator.tick().issues() == ["CI-5"]
    orchestrator.tick()
    assert calls == [{"path": "/repos/acme/app/actions/workflows/maestro.yml/dispatches",
                      "body": {"ref": "main", "inputs": {"issue": "CI-5"}},
                      "auth": "Bearer s3cret-token"}]
    assert not (sandbox.repo / ".maestro" / "lanes" / "CI-5").exists(), "no local lane"
    logs = Path(sandbox.repo / ".maestro" / "logs")
    assert all("s3cret-token" not in p.read_text() for p in logs.rglob("*") if p.is_file())


def test_dispatch_mode_without_token_is_a_clear_error(
        sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    (sandbox.repo / "maestro.toml").write_text(
        (sandbox.repo / "maestro.toml").read_text()
        + '\n[github]\nrepository = "acme/app"\ntoken_env_var = "T_TOKEN"\n'
        + '\n[dispatch]\nmode = "github-actions"\n')
    monkeypatch.delenv("T_TOKEN", raising=False)
    sandbox.add_issue("CI-6")
    proc = sandbox.maestro("run", "--once")
    assert proc.returncode == 2
    assert "T_TOKEN" in proc.stderr and "Traceback" not in proc.stderr
