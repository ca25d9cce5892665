"""The WORKFLOW.md body is strict Liquid with Symphony's variables (maestro.config.prompt)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from maestro.config.prompt import check_template, render_prompt, template_attempt
from maestro.config.workflow import parse_workflow
from maestro.errors import ConfigError
from maestro.model import Issue
from tests.conftest import Sandbox

SOURCE = Path("WORKFLOW.md")
ISSUE = Issue(id="uuid-1", identifier="ACME-7", title="Fix login", state="Todo",
              description="It fails.", labels=("Bug", "Backend"), blocked_by=("ACME-2",),
              blocker_states={"ACME-2": "Done"}, priority=2, url="https://t/ACME-7",
              created_at=datetime(2026, 11, 1, 9, 30, tzinfo=UTC))
BARE = Issue(id="uuid-2", identifier="ACME-8", title="t", state="Todo")


def render(body: str, issue: Issue = ISSUE, attempt: int | None = None) -> str:
    check_template(body, SOURCE)
    return render_prompt(body, SOURCE, issue, attempt)


@pytest.mark.parametrize(("lane_attempt", "shown"), [(1, None), (2, 1), (3, 2)])
def test_attempt_is_nil_on_the_first_run_then_the_retry_count(
        lane_attempt: int, shown: int | None) -> None:
    assert template_attempt(lane_attempt) == shown


@pytest.mark.parametrize(("body", "issue", "attempt", "expected"), [
    ("{% if attempt %}retry {{ attempt }}{% else %}first{% endif %}", ISSUE, None, "first"),
    ("{% if attempt %}retry {{ attempt }}{% else %}first{% endif %}", ISSUE, 1, "retry 1"),
    ("[{{ attempt }}]", ISSUE, None, "[]"),
    ("{% if issue.description %}{{ issue.description }}{% else %}none{% endif %}", ISSUE,
     None, "It fails."),
    ("{% if issue.description %}{{ issue.description }}{% else %}none{% endif %}", BARE,
     None, "none"),
    ("{{ issue.title | upcase }}/{{ issue.title | size }}", ISSUE, None, "FIX LOGIN/9"),
    ("{{ issue.labels }}", ISSUE, None, "bug, backend"),
    ("{% if issue.labels contains 'bug' %}bug{% endif %}", ISSUE, None, "bug"),
    ("{% for b in issue.blocked_by %}{{ b.identifier }}={{ b.state }}{% endfor %}", ISSUE,
     None, "ACME-2=Done"),
    ("{{ issue.created_at | date: '%Y-%m-%d' }}", ISSUE, None, "2026-11-01"),
    ("{{ issue.branch_name | default: 'none' }} {{ issue.url }}", ISSUE, None,
     "none https://t/ACME-7"),
    ("{% assign n = issue.priority | plus: 1 %}{{ n }}", ISSUE, None, "3"),
])
def test_symphony_variables_tags_and_filters_render(
        body: str, issue: Issue, attempt: int | None, expected: str) -> None:
    assert render(body, issue, attempt) == expected


def test_maestros_own_template_variables_render_as_before() -> None:
    body = ("{{ issue.identifier }} {{ issue.title }} {{ issue.state }} "
            "{{ issue.labels }} {{ issue.url }}\n{{issue.description}}")
    assert render(body) == "ACME-7 Fix login Todo bug, backend https://t/ACME-7\nIt fails."


@pytest.mark.parametrize(("body", "message"), [
    ("ok\n{{ issue.titel }}", "line 2: template: unknown template variable {{ issue.titel }}"),
    ("{% if attempt %}\n\n{{ atempt }}{% endif %}",
     "line 3: template: unknown template variable {{ atempt }}"),
    ("{{ issue.title | upcse }}", "line 1: template: unknown template filter 'upcse'"),
    ("{% if attempt %}\n{{ issue.title | nope }}{% endif %}",
     "line 2: template: unknown template filter 'nope'"),
    ("a\n{% iff x %}", "line 2: template: unexpected tag 'iff'"),
    ("{% include 'header' %}",
     "line 1: template: partial template 'header' not found (a WORKFLOW.md body includes none)"),
])
def test_unknown_names_filters_and_tags_are_refused_in_every_branch(
        body: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        check_template(body, SOURCE)
    assert str(caught.value).startswith(f"{SOURCE}: {message}")
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(("body", "line"), [
    ("a\n{% if issue.title == %}x{% endif %}", 2),
    ("a\n\n{{ issue.title | }}", 3),
    ("{% for label in %}\n{% endfor %}", 1),
    ("{% if attempt %}\nok\n{% if issue.title == %}{% endif %}{% endif %}", 3),
])
def test_a_bad_expression_inside_a_tag_names_its_line(body: str, line: int) -> None:
    with pytest.raises(ConfigError, match=rf"^{SOURCE}: line {line}: template: "):
        check_template(body, SOURCE)


def test_a_render_error_only_the_data_reveals_is_one_line() -> None:
    with pytest.raises(ConfigError, match=r"^WORKFLOW\.md: line 1: template: index out of "
                                          r"range$"):
        render("{{ issue.blocked_by[1].identifier }}")


@pytest.mark.parametrize("front", [
    "+++\n[execution]\nmax_turns = 3\n+++\n",
    "---\nagent:\n  max_turns: 3\n---\n",
])
def test_both_front_matter_styles_load_liquid_and_count_file_lines(front: str) -> None:
    text = front + "Work on {{ issue.identifier }}.\n{{ issue.nme }}\n"
    with pytest.raises(ConfigError, match=r"^WORKFLOW\.md: line 6: template: unknown template "
                                          r"variable \{\{ issue\.nme \}\}"):
        parse_workflow(text, SOURCE)
    workflow = parse_workflow(text.replace("{{ issue.nme }}", "{{ attempt }}"), SOURCE)
    assert workflow.developer_instructions(Path("."), ISSUE, "", attempt=1) == (
        "Work on ACME-7.")
    assert workflow.developer_instructions(Path("."), ISSUE, "", attempt=3) == (
        "Work on ACME-7.\n2")


@pytest.mark.parametrize(("wrong", "said"), [
    ("{{ issue.titel }}", "unknown template variable {{ issue.titel }}"),
    ("{{ issue.title | upcse }}", "unknown template filter 'upcse'"),
])
def test_the_cli_refuses_a_bad_template_with_one_line_and_exit_2(
        sandbox: Sandbox, wrong: str, said: str) -> None:
    sandbox.edit_workflow("Keep the change small", f"Keep {wrong} small")
    proc = sandbox.maestro("run", "--once", "--dry-run")
    assert proc.returncode == 2
    [line] = proc.stderr.splitlines()
    assert line.startswith(f"maestro: error: {sandbox.repo / 'WORKFLOW.md'}: line 22: "
                           f"template: {said}")
    assert "Traceback" not in proc.stderr + proc.stdout
