"""A Symphony-style WORKFLOW.md works unchanged; what moved elsewhere is named."""

from __future__ import annotations

from pathlib import Path

import pytest

from maestro.config.workflow import parse_workflow, render_template
from maestro.errors import ConfigError
from maestro.model import Issue

SYMPHONY = """\
---
tracker:
  kind: linear
  project_slug: "acme-web"
  api_key: $LINEAR_API_KEY
  active_states: Todo, In Progress
  terminal_states: [Done, Canceled, Duplicate]
polling:
  interval_ms: 5000
workspace:
  root: ~/code/workspaces
hooks:
  after_create: git clone git@github.com:acme/web.git .
agent:
  max_concurrent_agents: 4
  max_turns: 15
  max_concurrent_agents_by_state: {todo: 2}
codex:
  command: codex app-server
  turn_timeout_ms: 3600000
---
You are working on {{ issue.identifier }} (attempt {{ attempt }}).
"""


def test_symphony_front_matter_becomes_maestro_policy(tmp_path: Path) -> None:
    workflow = parse_workflow(SYMPHONY, tmp_path / "WORKFLOW.md")
    policy = workflow.policy
    assert policy.tracker.provider == "linear"
    assert policy.tracker.project_slug == "acme-web"
    assert policy.tracker.startable_states == ["Todo"]
    assert policy.tracker.terminal_states == ["Done", "Canceled", "Duplicate"]
    assert policy.execution.max_concurrent_agents == 4
    assert policy.execution.max_turns == 15
    assert policy.execution.max_concurrent_agents_by_state == {"todo": 2}


def test_machine_settings_in_a_symphony_file_are_named_not_lost(tmp_path: Path) -> None:
    warnings = "\n".join(parse_workflow(SYMPHONY, tmp_path / "WORKFLOW.md").warnings)
    assert 'api_key_env_var = "LINEAR_API_KEY"' in warnings
    assert "polling: ignored in WORKFLOW.md; run `maestro daemon --poll-interval-s N`" in warnings
    assert "workspace: ignored" in warnings and "hooks" not in warnings
    assert "codex: ignored" in warnings


def test_symphony_hooks_are_kept_as_workspace_hooks(tmp_path: Path) -> None:
    hooks = parse_workflow(SYMPHONY, tmp_path / "WORKFLOW.md").policy.hooks
    assert hooks.after_create == "git clone git@github.com:acme/web.git ."
    assert hooks.timeout_ms == 60_000


def test_a_literal_api_key_in_a_symphony_file_is_refused(tmp_path: Path) -> None:
    text = SYMPHONY.replace("$LINEAR_API_KEY", "lin_api_0123456789abcdefghij")
    with pytest.raises(ConfigError, match=r"tracker\.api_key: looks like a secret"):
        parse_workflow(text, tmp_path / "WORKFLOW.md")


def test_attempt_is_a_template_variable(tmp_path: Path) -> None:
    issue = Issue(id="1", identifier="ACME-1", title="t", state="Todo")
    body = parse_workflow(SYMPHONY, tmp_path / "WORKFLOW.md").body
    assert render_template(body, issue, tmp_path, attempt=2).strip() == (
        "You are working on ACME-1 (attempt 2).")


def test_maestro_yaml_without_symphony_keys_still_forbids_unknown_keys(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"tracker\.knd: unknown key"):
        parse_workflow("---\ntracker:\n  knd: linear\n---\n", tmp_path / "WORKFLOW.md")
