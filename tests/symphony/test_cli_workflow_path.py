"""The workflow file a command line names, and the default one (Symphony SPEC.md §5.1,
§17.7): a positional path wins, no path means WORKFLOW.md at the repository root, and a
missing file is one line and exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from maestro.config.paths import with_workflow
from maestro.config.service import ServiceConfig, parse_config_file
from maestro.errors import ConfigError
from maestro.orchestration.orchestrator import Orchestrator
from maestro.trackers.files import FilesTracker

CUSTOM = '+++\n[tracker]\nstartable_states = ["Ready"]\n+++\nWork on {{ issue.title }}.\n'


def maestro(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "maestro", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    FilesTracker(tmp_path / "issues", "X").create("ready one", "", state="Ready",
                                                  identifier="X-1")
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "custom.md").write_text(CUSTOM)
    return tmp_path


def test_a_positional_workflow_path_is_the_policy_the_loop_reads(repo: Path) -> None:
    (repo / "WORKFLOW.md").write_text("+++\n+++\nThe default workflow.\n")
    default = json.loads(maestro(repo, "run", "--dry-run", "--json").stdout)
    chosen = json.loads(maestro(repo, "run", "--dry-run", "--json", "flows/custom.md").stdout)
    assert default["dispatch"] == []
    assert [item["issue"] for item in chosen["dispatch"]] == ["X-1"]


def test_a_missing_explicit_workflow_path_is_one_line_and_exit_2(repo: Path) -> None:
    proc = maestro(repo, "daemon", "flows/absent.md")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"maestro: error: {repo / 'flows' / 'absent.md'}: workflow file not found (given on "
        "the command line)"]


def test_a_missing_default_workflow_is_one_line_and_exit_2(repo: Path) -> None:
    proc = maestro(repo, "run", "--dry-run")
    assert proc.returncode == 2
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith("maestro: error: ") and str(repo / "WORKFLOW.md") in line


def test_lane_processes_read_the_workflow_the_loop_read(tmp_path: Path) -> None:
    config = ServiceConfig().resolved(tmp_path).model_copy(
        update={"workflow_path": tmp_path / "flows" / "custom.md"})
    argv = Orchestrator(config).lane_command("X-1")
    assert argv[argv.index("--workflow") + 1] == str(tmp_path / "flows" / "custom.md")


def test_the_loops_workflow_option_leaves_a_deleted_file_to_the_lanes_fallback(
        tmp_path: Path) -> None:
    config = with_workflow(ServiceConfig().resolved(tmp_path), tmp_path / "gone.md",
                           must_exist=False)
    assert config.workflow_path == tmp_path / "gone.md"


def config_with(tmp_path: Path, line: str) -> ServiceConfig:
    path = tmp_path / "maestro.toml"
    path.write_text(line + "\n")
    return parse_config_file(path)


def test_a_home_relative_workspace_root_is_expanded(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    config = config_with(tmp_path, 'workspace_root = "~/lanes"')
    assert config.workspace_root == tmp_path / "home" / "lanes"


def test_a_workspace_root_from_an_environment_variable(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANES_ROOT", str(tmp_path / "elsewhere"))
    config = config_with(tmp_path, 'workspace_root = "$LANES_ROOT/maestro"')
    assert config.workspace_root == tmp_path / "elsewhere" / "maestro"


def test_an_unset_path_variable_names_the_key(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LANES_ROOT", raising=False)
    with pytest.raises(ConfigError, match=r"maestro\.toml: workspace_root: environment "
                       "variable LANES_ROOT is not set or empty"):
        config_with(tmp_path, 'workspace_root = "${LANES_ROOT}/x"')


def test_environment_is_left_alone_for_non_path_values(tmp_path: Path) -> None:
    config = config_with(tmp_path, '[agent]\ncommand = "python -m x $HOME"')
    assert config.agent.command == "python -m x $HOME"
