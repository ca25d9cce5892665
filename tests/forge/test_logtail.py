"""The failing tail of a CI log and its redaction, as tables (pure functions)."""

from __future__ import annotations

import pytest

from maestro.forges.github_logs import job_id, rest_base
from maestro.forges.logtail import REDACTED, failing_tail, redact


@pytest.mark.parametrize(("log", "bound", "tail"), [
    ("a\nb\nc\n", 100, "a\nb\nc"),
    ("first line\nsecond\nthird\n", 13, "second\nthird"),  # never half a line
    ("2026-11-30T03:45:30.1234567Z npm test\n2026-11-30T03:45:31Z FAIL x\n", 100,
     "npm test\nFAIL x"),  # Actions timestamps dropped
    ("one very long last line", 5, " line"),  # a lone long line keeps its end
    ("a\r\nb\r\n\n\n", 100, "a\nb"),
])
def test_failing_tail_keeps_whole_last_lines(log: str, bound: int, tail: str) -> None:
    assert failing_tail(log, bound) == tail


GHP = "ghp_" + "A1b2" * 9
PAT = "github_pat_" + "11AB" * 8


@pytest.mark.parametrize(("text", "secrets", "clean"), [
    (f"token {GHP} used", (), f"token {REDACTED} used"),
    (f"x={PAT};", (), f"x={REDACTED};"),
    ("Authorization: Bearer abc.def-123456", (), f"Authorization: Bearer {REDACTED}"),
    ("Authorization: Basic eC1hY2Nlc3M6dG9r", (), f"Authorization: Basic {REDACTED}"),
    ("maestro's own s3cr3t-value leaked", ("s3cr3t-value",), f"maestro's own {REDACTED} leaked"),
    ("gho_" + "z" * 36, (), REDACTED),
    ("no secrets here: ghp_short", (), "no secrets here: ghp_short"),
    ("an empty secret changes nothing", ("",), "an empty secret changes nothing"),
    ("Basic authentication failed for the token request", (),
     "Basic authentication failed for the token request"),
])
def test_redact_removes_credentials(text: str, secrets: tuple[str, ...], clean: str) -> None:
    assert redact(text, secrets) == clean


@pytest.mark.parametrize(("url", "job"), [
    ("https://github.com/o/r/actions/runs/123/job/456", 456),
    ("https://github.com/o/r/actions/runs/123/jobs/456?pr=1", 456),
    ("https://ci.example.com/build/7", None),
    ("", None),
])
def test_job_id_comes_from_an_actions_details_url(url: str, job: int | None) -> None:
    assert job_id(url) == job


@pytest.mark.parametrize(("api", "graphql", "root"), [
    ("https://api.github.com", "https://api.github.com/graphql", "https://api.github.com"),
    ("https://api.github.com", "https://ghe.example.com/api/graphql",
     "https://ghe.example.com/api/v3"),
    ("https://api.github.com", "http://127.0.0.1:9/graphql", "http://127.0.0.1:9"),
    ("https://ghe.example.com/api/v3/", "https://ghe.example.com/api/graphql",
     "https://ghe.example.com/api/v3"),
])
def test_rest_base_follows_a_moved_graphql_endpoint(api: str, graphql: str, root: str) -> None:
    assert rest_base(api, graphql) == root
