"""A lane file that parses but cannot be what maestro wrote is damage, like a truncated one."""

from __future__ import annotations

from pathlib import Path

import pytest

from maestro.lanes.record.damage import content_problem, damaged_files

CASES = [
    ("pr.json", {}, "missing number"),
    ("pr.json", None, "not a JSON object"),
    ("pr.json", {"number": 3, "url": "u"}, None),
    ("lease.json", {"run_id": "r"}, "missing attempt"),
    ("lease.json", [], "not a JSON object"),
    ("validation.json", {"passed": True}, "missing head"),
    ("result.json", {"reason": "x"}, "missing disposition"),
    ("merge.json", {"commit": None, "rebuilt": True}, None),
    ("closeout.json", 7, "not a JSON object"),
    ("activity.json", {}, None),
    ("tokens.json", "text", "not a JSON object"),
]


@pytest.mark.parametrize(("name", "value", "problem"), CASES,
                         ids=[f"{c[0]}={c[1]!r}" for c in CASES])
def test_content_problem_names_what_a_lane_file_lacks(name: str, value: object,
                                                      problem: str | None) -> None:
    assert content_problem(name, value) == problem


def test_an_empty_object_in_pr_json_is_found_as_damaged(tmp_path: Path) -> None:
    (tmp_path / "pr.json").write_text("{}")
    (tmp_path / "lease.json").write_text('{"run_id": "r", "attempt": 1}')
    assert damaged_files(tmp_path) == {tmp_path / "pr.json": "missing number"}


def test_json_null_in_any_lane_file_is_found_as_damaged(tmp_path: Path) -> None:
    (tmp_path / "turns").mkdir()
    (tmp_path / "turns" / "1.json").write_text("null")
    assert damaged_files(tmp_path) == {tmp_path / "turns" / "1.json": "not a JSON object"}
