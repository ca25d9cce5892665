"""Bad configuration gets one clear message naming file, key path and expectation; exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from maestro.config.service import parse_config_file
from maestro.config.workflow import load_workflow, parse_workflow
from maestro.errors import ConfigError

BAD_CONFIGS = {
    "wrong type": ('[agent]\nidle_timeout_s = "soon"\n', "agent.idle_timeout_s"),
    "unknown key": ('[agent]\ncomand = "codex app-server"\n', "agent.comand: unknown key"),
    "invalid toml": ('id = "x\n', "invalid TOML"),
    "secret in file": ('[tracker]\napi_key_env_var = "lin_api_0123456789abcdef0123"\n',
                       "tracker.api_key_env_var: looks like a secret"),
    "bad listen address": ('[operator_http]\nlisten_address = "everywhere"\n',
                           "operator_http.listen_address"),
}


@pytest.mark.parametrize("name", sorted(BAD_CONFIGS))
def test_bad_maestro_toml_names_the_key(tmp_path: Path, name: str) -> None:
    text, expected = BAD_CONFIGS[name]
    path = tmp_path / "maestro.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        parse_config_file(path)
    assert str(path) in str(caught.value)
    assert expected in str(caught.value)


BAD_WORKFLOWS = {
    "wrong type": ("+++\n[execution]\nmax_turns = \"many\"\n+++\nbody", "execution.max_turns"),
    "unknown key": ("+++\n[execution]\nmax_turn = 3\n+++\nbody", "execution.max_turn: unknown key"),
    "unterminated toml": ("+++\nversion = 1\nbody", "never closed"),
    "unterminated yaml": ("---\ntracker: {}\nbody", "never closed"),
    "absolute read_first": ("+++\n[context]\nread_first = [\"/etc/passwd\"]\n+++\n",
                            "context.read_first[0]: expected a path relative"),
    "escaping tracker path": ("+++\n[tracker]\npath = \"../elsewhere\"\n+++\n",
                              "tracker.path"),
    "secret": ("---\ntracker:\n  project_slug: ghp_0123456789abcdefghijABCDEFGHIJ0123\n---\n",
               "tracker.project_slug: looks like a secret"),
    "wrong version": ("+++\nversion = 2\n+++\n", "version"),
    "overlapping states": ("+++\n[tracker]\nstartable_states = [\"Done\"]\n+++\n", "overlap"),
    "yaml not a mapping": ("---\n- a\n- b\n---\n", "expected a mapping"),
}


@pytest.mark.parametrize("name", sorted(BAD_WORKFLOWS))
def test_bad_workflow_names_the_key(tmp_path: Path, name: str) -> None:
    text, expected = BAD_WORKFLOWS[name]
    path = tmp_path / "WORKFLOW.md"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_workflow(path)
    assert str(path) in str(caught.value)
    assert expected in str(caught.value)


def test_binary_workflow_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "WORKFLOW.md"
    path.write_bytes(b"\xff\xfe\x00junk")
    with pytest.raises(ConfigError, match="binary"):
        load_workflow(path)


def test_huge_workflow_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "WORKFLOW.md"
    path.write_text("x" * 2_000_001)
    with pytest.raises(ConfigError, match="at most"):
        load_workflow(path)


def test_yaml_and_toml_front_matter_mean_the_same(tmp_path: Path) -> None:
    toml = parse_workflow("+++\n[execution]\nmax_turns = 4\n[tracker]\nstartable_states = "
                          "[\"Ready\"]\n+++\nDo it.", tmp_path / "a.md")
    yaml = parse_workflow("---\nexecution:\n  max_turns: 4\ntracker:\n  startable_states: "
                          "[Ready]\n---\nDo it.", tmp_path / "b.md")
    assert toml.policy == yaml.policy
    assert toml.body == yaml.body == "Do it."


def test_workflow_defaults_follow_the_reference_names(tmp_path: Path) -> None:
    policy = parse_workflow("no front matter", tmp_path / "w.md").policy
    assert policy.tracker.startable_states == ["Todo"]
    assert policy.tracker.terminal_states == ["Done", "Canceled", "Duplicate"]
    assert policy.tracker.success_state == "In Review"
    assert policy.tracker.resolved_completed_state() == "Done"
    assert policy.tracker.needs_attention_label == "maestro:needs-attention"
    assert policy.execution.max_attempts == 3
    assert policy.execution.max_retry_backoff_ms == 300_000


def run_cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "maestro", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=60)


def test_cli_reports_a_bad_config_without_traceback(tmp_path: Path) -> None:
    (tmp_path / "maestro.toml").write_text("[agent]\nidle_timeout_s = -1\n")
    proc = run_cli(tmp_path, "status")
    assert proc.returncode == 2
    assert "maestro.toml: agent.idle_timeout_s" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_cli_reports_a_bad_workflow_without_traceback(tmp_path: Path) -> None:
    (tmp_path / "maestro.toml").write_text("id = \"t\"\n")
    (tmp_path / "WORKFLOW.md").write_text("+++\n[execution]\nmax_attempts = 0\n+++\n")
    proc = run_cli(tmp_path, "run", "--once", "--dry-run")
    assert proc.returncode == 2
    assert "WORKFLOW.md: execution.max_attempts" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_cli_reports_a_missing_config_file(tmp_path: Path) -> None:
    proc = run_cli(tmp_path, "--config", str(tmp_path / "nope.toml"), "status")
    assert proc.returncode == 2
    assert "nope.toml: config file not found" in proc.stderr


def test_cli_reports_a_missing_workflow(tmp_path: Path) -> None:
    (tmp_path / "maestro.toml").write_text("id = \"t\"\n")
    proc = run_cli(tmp_path, "issue", "list")
    assert proc.returncode == 2
    assert "WORKFLOW.md: workflow file not found" in proc.stderr
