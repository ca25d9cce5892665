"""Symphony-style front matter is read as Symphony reads it (its SPEC.md §5.3, §6, §17.1);
maestro's own files keep their strictness."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from maestro.agents.launch import agent_argv
from maestro.config.service import AgentService
from maestro.config.workflow import AgentPolicy, Workflow, parse_workflow
from maestro.errors import ConfigError

#: Written for these tests in the shape of openai/symphony's own ``elixir/WORKFLOW.md``:
#: a ``tracker.provider`` object, ``required_labels``, an ``In Progress`` active state,
#: hooks, ``~`` in the workspace root, Codex pass-through settings and a quoted command.
SYMPHONY_REPO_STYLE = """\
---
tracker:
  kind: linear
  provider:
    project_slug: "orchestra-1a2b3c"
  required_labels: []
  active_states:
    - Todo
    - In Progress
    - Rework
  terminal_states:
    - Closed
    - Canceled
    - Done
polling:
  interval_ms: 7000
workspace:
  root: ~/work/orchestra-workspaces
hooks:
  after_create: |
    git clone --depth 1 https://example.invalid/orchestra.git .
  before_remove: |
    echo bye
agent:
  max_concurrent_agents: 6
  max_turns: 12
codex:
  command: codex --config 'model="some-model"' app-server
  approval_policy: never
  thread_sandbox: workspace-write
  turn_sandbox_policy:
    type: workspaceWrite
    networkAccess: true
---

Ticket `{{ issue.identifier }}`: {{ issue.title }}
"""


def load(text: str, tmp_path: Path) -> Workflow:
    return parse_workflow(text, tmp_path / "WORKFLOW.md")


def test_a_file_shaped_like_symphonys_own_workflow_loads(tmp_path: Path) -> None:
    policy = load(SYMPHONY_REPO_STYLE, tmp_path).policy
    assert (policy.tracker.provider, policy.tracker.project_slug) == ("linear", "orchestra-1a2b3c")
    assert policy.tracker.startable_states == ["Todo", "Rework"]
    assert policy.tracker.required_labels == []
    assert policy.execution.max_concurrent_agents == 6
    assert policy.agent.command == "codex --config 'model=\"some-model\"' app-server"


def test_unknown_keys_in_a_symphony_file_are_ignored_with_a_warning(tmp_path: Path) -> None:
    text = SYMPHONY_REPO_STYLE.replace("polling:", "observability:\n  dashboard: true\npolling:"
                                       ).replace("  max_turns: 12", "  max_turns: 12\n  future: 1")
    workflow = load(text, tmp_path)
    warnings = "\n".join(workflow.warnings)
    assert "observability: unknown key ignored" in warnings
    assert "agent.future: unknown key ignored" in warnings
    assert workflow.policy.execution.max_turns == 12


def test_maestro_toml_front_matter_still_refuses_unknown_keys(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"observability: unknown key"):
        load("+++\nobservability = 1\n+++\n", tmp_path)


def test_a_secret_under_an_ignored_key_is_still_refused(tmp_path: Path) -> None:
    text = SYMPHONY_REPO_STYLE.replace("polling:", "extra:\n  key: lin_api_0123456789abcdef\n"
                                       "polling:")
    with pytest.raises(ConfigError, match=r"extra\.key: looks like a secret"):
        load(text, tmp_path)


def test_provider_keys_reach_the_adapter_setting_they_name(tmp_path: Path) -> None:
    text = SYMPHONY_REPO_STYLE.replace("kind: linear", "kind: github").replace(
        'project_slug: "orchestra-1a2b3c"', "repo: acme/orchestra")
    assert load(text, tmp_path).policy.tracker.repository == "acme/orchestra"


def test_a_provider_key_the_adapter_does_not_read_is_refused_by_name(tmp_path: Path) -> None:
    text = SYMPHONY_REPO_STYLE.replace('project_slug: "orchestra-1a2b3c"',
                                       'project_slug: x\n    assignee: me')
    with pytest.raises(ConfigError, match=r"tracker\.provider\.assignee: not a setting of "
                       r"maestro's 'linear' tracker adapter"):
        load(text, tmp_path)


def test_a_provider_machine_setting_is_named_in_a_warning(tmp_path: Path) -> None:
    text = SYMPHONY_REPO_STYLE.replace('project_slug: "orchestra-1a2b3c"',
                                       'project_slug: x\n    endpoint: https://example.invalid')
    assert any("tracker.provider.endpoint: ignored in WORKFLOW.md; set endpoint under "
               "[tracker] in maestro.toml" in w for w in load(text, tmp_path).warnings)


def test_a_literal_provider_credential_is_refused(tmp_path: Path) -> None:
    text = SYMPHONY_REPO_STYLE.replace('project_slug: "orchestra-1a2b3c"',
                                       'project_slug: x\n    api_key: plain-words')
    with pytest.raises(ConfigError, match=r"tracker\.provider\.api_key: a credential"):
        load(text, tmp_path)


def test_codex_command_defaults_to_codex_app_server(tmp_path: Path) -> None:
    text = SYMPHONY_REPO_STYLE.replace("  command: codex --config 'model=\"some-model\"' "
                                       "app-server\n", "")
    assert load(text, tmp_path).policy.agent.command == "codex app-server"


def test_an_empty_codex_command_is_refused(tmp_path: Path) -> None:
    text = SYMPHONY_REPO_STYLE.replace("command: codex --config 'model=\"some-model\"' "
                                       "app-server", 'command: "  "')
    with pytest.raises(ConfigError, match=r"codex\.command: expected a non-empty shell"):
        load(text, tmp_path)


def test_per_state_limits_are_normalised_and_invalid_entries_ignored(tmp_path: Path) -> None:
    text = SYMPHONY_REPO_STYLE.replace("  max_turns: 12", "  max_turns: 12\n"
                                       "  max_concurrent_agents_by_state:\n"
                                       "    ' In Progress ': 2\n    Todo: '3'\n"
                                       "    Rework: 0\n    Merging: lots\n    Done: true")
    workflow = load(text, tmp_path)
    assert workflow.policy.execution.max_concurrent_agents_by_state == {"in progress": 2,
                                                                        "todo": 3}
    ignored = [w for w in workflow.warnings if "max_concurrent_agents_by_state." in w]
    assert len(ignored) == 3


def test_the_workflow_command_runs_as_a_bash_login_shell_string(tmp_path: Path) -> None:
    policy = AgentPolicy(command="printf '%s|' \"$PWD\" 'a b'")
    argv = agent_argv(AgentService(), policy)
    assert argv[:2] == ["bash", "-lc"]
    out = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, check=True)
    assert out.stdout == f"{tmp_path}|a b|"


def test_an_explicit_maestro_toml_agent_command_wins(tmp_path: Path) -> None:
    service = AgentService.model_validate({"command": "python -m maestro.agents.scripted"})
    argv = agent_argv(service, AgentPolicy(command="codex app-server"))
    assert argv[1:] == ["-m", "maestro.agents.scripted"]


def test_a_tracker_kind_maestro_has_no_adapter_for_is_refused(tmp_path: Path) -> None:
    text = SYMPHONY_REPO_STYLE.replace("kind: linear", "kind: jira").replace(
        'project_slug: "orchestra-1a2b3c"', "path: issues")
    with pytest.raises(ConfigError, match=r"tracker\.kind: maestro has no adapter for 'jira' "
                       r"\(expected one of: linear, github, files\)"):
        load(text, tmp_path)
