"""A Symphony-style WORKFLOW.md (YAML front matter, Liquid tags and filters, workspace hooks)
runs a whole lane unchanged: claim → a crashed first attempt → a retry that hands off →
approval → merge → cleanup, on real git with the scripted agent and the files tracker.

The scenario runs once per module (three lane processes); each test reads one behaviour
off it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import Sandbox

pytestmark = pytest.mark.slow

WORKFLOW = """\
---
tracker:
  kind: files
  path: issues
  issue_prefix: DEMO
  active_states: [Todo, In Progress]
  terminal_states: [Done, Canceled, Duplicate]
polling:
  interval_ms: 5000
agent:
  max_concurrent_agents: 2
  max_turns: 5
execution:
  validation_commands: ["python3 -m unittest -q test_hello"]
forge:
  provider: local
  base_branch: main
hooks:
  after_create: |
    echo "after_create $MAESTRO_ISSUE $(pwd)" >> {log}
  before_run: |
    echo "before_run $(git rev-parse --abbrev-ref HEAD)" >> {log}
    env | sort > {env}
  after_run: |
    echo "after_run" >> {log}
    exit 7
  before_remove: |
    echo "before_remove $(git rev-parse --abbrev-ref HEAD)" >> {log}
    exit 9
  timeout_ms: 30000
---
You are working on `{{{{ issue.identifier }}}}`: {{{{ issue.title | upcase }}}}
{{% if attempt %}}
This is follow-up attempt #{{{{ attempt }}}}.
{{% endif %}}
Labels: {{{{ issue.labels | join: " / " }}}}
{{% if issue.description %}}
Description starts: {{{{ issue.description | truncate: 12, "" }}}}
{{% else %}}
No description provided.
{{% endif %}}
"""

#: The agent also plants a WORKFLOW.md of its own with a hook: it must never run.
SCRIPT = """
steps:
  - save_instructions: {prompts}
  - crash: {{attempts: [1]}}
  - write: {{path: WORKFLOW.md, content: "---\\nhooks:\\n  after_run: touch {planted}\\n---\\n"}}
  - write: {{path: feature.txt, content: "feature\\n"}}
  - commit: "add feature"
  - handoff: "feature added"
"""


@dataclass
class Scenario:
    sandbox: Sandbox
    log: Path
    env: Path
    prompts: Path
    planted: Path
    outcomes: list[str]

    def hook_log(self) -> list[str]:
        return self.log.read_text().splitlines()

    def journal(self) -> list[dict[str, object]]:
        path = self.sandbox.repo / ".maestro" / "lanes" / "SY-1" / "journal.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    tmp = tmp_path_factory.mktemp("symphony")
    box = Sandbox(tmp / "sandbox")
    for path in (box.repo / "issues").glob("DEMO-*.md"):
        path.unlink()
    log, env, prompts, planted = (tmp / "hooks.log", tmp / "hook.env", tmp / "prompts.txt",
                                  tmp / "planted")
    (box.repo / "WORKFLOW.md").write_text(WORKFLOW.format(log=log, env=env))
    box.add_issue("SY-1", title="Add the feature", labels=["Backend"],
                  script=SCRIPT.format(prompts=prompts, planted=planted))
    secret = {"AWS_SECRET_ACCESS_KEY": "not-for-hooks"}
    outcomes = []
    box.lane("SY-1", env=secret)
    outcomes.append(box.outcome("SY-1"))
    box.lane("SY-1", env=secret)
    outcomes.append(box.outcome("SY-1"))
    box.approve("SY-1")
    box.lane("SY-1", env=secret)
    outcomes.append(box.outcome("SY-1"))
    return Scenario(box, log, env, prompts, planted, outcomes)


def test_the_symphony_workflow_runs_the_lane_to_delivery(scenario: Scenario) -> None:
    assert scenario.outcomes == ["retry", "waiting", "finished"]
    assert scenario.sandbox.issue("SY-1").state == "Done"
    assert scenario.sandbox.origin_file("feature.txt") == "feature\n"


def test_attempt_is_empty_on_the_first_run_and_the_retry_count_after(
        scenario: Scenario) -> None:
    first, retry = scenario.prompts.read_text().split("\n---\n")[:2]
    assert "follow-up attempt" not in first
    assert "This is follow-up attempt #1." in retry


def test_liquid_filters_and_issue_fields_render(scenario: Scenario) -> None:
    first = scenario.prompts.read_text().split("\n---\n")[0]
    assert first.startswith("You are working on `SY-1`: ADD THE FEATURE\n")
    assert "Labels: backend\n" in first
    assert "Description starts: Work on SY-1" in first
    assert "{%" not in first and "{{" not in first


def test_hooks_run_in_symphony_order_in_the_lane_worktree(scenario: Scenario) -> None:
    worktree = (scenario.sandbox.repo / ".worktrees" / "SY-1").resolve()
    lane = [line for line in scenario.hook_log() if not line.startswith("after_create  ")]
    assert lane == [
        f"after_create SY-1 {worktree}",       # once: the retry reuses the worktree
        "before_run maestro/sy-1", "after_run",  # the crashed first attempt
        "before_run maestro/sy-1", "after_run",  # the retry
        "before_remove maestro/sy-1",            # cleanup after the merge
    ]


def test_the_forges_check_runs_after_create_in_its_own_checkout_for_no_lane(
        scenario: Scenario) -> None:
    """A check belongs to no lane: no ``MAESTRO_ISSUE``, and its own clean checkout."""
    checks = [line for line in scenario.hook_log() if line.startswith("after_create  ")]
    assert len(checks) == 1, scenario.hook_log()
    assert ".worktrees" not in checks[0]


def test_failing_after_run_and_before_remove_hooks_are_journaled_and_ignored(
        scenario: Scenario) -> None:
    finished = [e for e in scenario.journal() if e["event"] == "hook_finished"]
    failed = {str(e["hook"]): e["exit_code"] for e in finished if not e["ok"]}
    assert failed == {"after_run": 7, "before_remove": 9}
    assert not (scenario.sandbox.repo / ".worktrees" / "SY-1").exists()


def test_hooks_get_the_agents_allow_listed_environment(scenario: Scenario) -> None:
    names = {line.split("=", 1)[0] for line in scenario.env.read_text().splitlines()}
    assert "AWS_SECRET_ACCESS_KEY" not in names
    assert {"PATH", "MAESTRO_ISSUE", "MAESTRO_HOOK"} <= names


def test_hooks_come_from_the_workflow_maestro_read_never_the_agents_copy(
        scenario: Scenario) -> None:
    assert "after_run: touch" in (scenario.sandbox.origin_file("WORKFLOW.md") or "")
    assert not scenario.planted.exists()
