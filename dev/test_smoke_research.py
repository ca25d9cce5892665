"""Smoke tests of the research skill: its run file's schema and every runner command.

Each test runs the shipped ``scripts/research_run.py`` as a real subprocess on a run file in
a temporary folder, as an agent would, and checks the file it leaves and the lines it prints.
Bad input must be one ``FILE: key: problem`` line per problem, exit 2, never a traceback.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from smoke import ASSETS_ROOT

from maestro.assets import shipped

SKILL = ASSETS_ROOT / ".codex/skills/research"
SCRIPT = SKILL / "scripts/research_run.py"
SCHEMA = json.loads((SKILL / "references/run.schema.json").read_text())
STEPS = ("frame", "gather", "conclude")


def runner(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-B", str(SCRIPT), *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=30, check=False)


def refused(proc: subprocess.CompletedProcess[str]) -> list[str]:
    """The stderr lines of a refusal, after checking it is one: exit 2, no traceback."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.stderr.strip().splitlines()


def schema_errors(document: Any) -> list[str]:
    return [e.message for e in jsonschema.Draft202012Validator(SCHEMA).iter_errors(document)]


def init(path: Path) -> None:
    proc = runner("init", path, "--question", "Does X stream uploads?",
                  *[arg for step in STEPS for arg in ("--step", step)],
                  "--max-sources", "2", "--max-steps", "6", cwd=path.parent)
    assert proc.returncode == 0, proc.stderr


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The text of a new run and of the same run taken to a verdict, built once.

    Tests get private copies (fixtures below), so only these few runner calls are shared;
    every command still runs for real here and in the tests that exercise it.
    """
    path = tmp_path_factory.mktemp("template") / "q.json"
    init(path)
    fresh = path.read_text()
    for args in (("source", "--title", "X docs", "--locator", "https://example.org/x"),
                 ("step",),
                 ("finding", "--claim", "X streams uploads", "--source", "S1"),
                 ("step", "--to", "conclude"),
                 ("verdict", "--answer", "Yes", "--confidence", "high", "--finding", "F1")):
        proc = runner(args[0], path, *args[1:], cwd=path.parent)
        assert proc.returncode == 0, (args, proc.stderr)
    return {"fresh": fresh, "concluded": path.read_text(),
            "files": " ".join(sorted(p.name for p in path.parent.iterdir()))}


@pytest.fixture
def run_file(tmp_path: Path, templates: dict[str, str]) -> Path:
    """A new run: three method steps, at most 2 sources and 6 recorded actions."""
    path = tmp_path / "q.json"
    path.write_text(templates["fresh"])
    return path


@pytest.fixture
def concluded(tmp_path: Path, templates: dict[str, str]) -> Path:
    """The run taken through every command to a verdict."""
    path = tmp_path / "q.json"
    path.write_text(templates["concluded"])
    return path


def test_run_file_schema_is_a_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_init_writes_a_run_the_schema_accepts_at_the_first_step(tmp_path: Path) -> None:
    init(tmp_path / "q.json")
    run = json.loads((tmp_path / "q.json").read_text())
    assert schema_errors(run) == []
    assert run["method"] == {"steps": list(STEPS), "current": "frame"}
    assert (run["sources"], run["findings"], run["verdict"]) == ([], [], None)


def test_a_run_taken_to_its_verdict_matches_the_schema_and_validates(concluded: Path) -> None:
    run = json.loads(concluded.read_text())
    assert schema_errors(run) == []
    assert run["findings"] == [{"id": "F1", "claim": "X streams uploads", "sources": ["S1"],
                                "step": "gather"}]
    assert [entry["action"] for entry in run["log"]] == ["source", "step", "finding", "step"]
    proc = runner("validate", concluded, cwd=concluded.parent)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"{concluded}: run ok (concluded, step 'conclude')"


def test_summary_shows_budget_sources_findings_and_verdict(concluded: Path) -> None:
    proc = runner("summary", concluded, cwd=concluded.parent)
    assert proc.returncode == 0, proc.stderr
    for line in ("# Research: Does X stream uploads?", "- budget: 1/2 sources, 4/6 steps",
                 "- S1: X docs (https://example.org/x)", "- F1: X streams uploads [S1]",
                 "- Yes (confidence: high; from F1)"):
        assert line in proc.stdout.splitlines(), proc.stdout


def test_commands_leave_no_staging_files_behind(templates: dict[str, str]) -> None:
    assert templates["files"] == "q.json"


def test_init_refuses_to_overwrite_a_run(run_file: Path) -> None:
    before = run_file.read_text()
    proc = runner("init", run_file, "--question", "Q", "--step", "a",
                  "--max-sources", "1", "--max-steps", "1", cwd=run_file.parent)
    assert refused(proc) == [f"{run_file}: already exists; a run file is never overwritten"]
    assert run_file.read_text() == before


def test_init_refuses_an_empty_question_and_a_zero_budget(tmp_path: Path) -> None:
    path = tmp_path / "q.json"
    proc = runner("init", path, "--question", " ", "--step", "a",
                  "--max-sources", "0", "--max-steps", "3", cwd=tmp_path)
    assert refused(proc) == [f"{path}: question: must be a non-empty string",
                             f"{path}: budget.max_sources: must be an integer of at least 1"]
    assert not path.exists()


def test_source_beyond_the_budget_is_refused_and_the_file_kept(run_file: Path) -> None:
    for title in ("a", "b"):
        assert runner("source", run_file, "--title", title, "--locator", title,
                      cwd=run_file.parent).returncode == 0
    before = run_file.read_text()
    proc = runner("source", run_file, "--title", "c", "--locator", "c", cwd=run_file.parent)
    assert refused(proc) == [f"{run_file}: budget.max_sources: all 2 sources are recorded; "
                             f"work with what you have"]
    assert run_file.read_text() == before


def test_actions_beyond_the_step_budget_are_refused(run_file: Path) -> None:
    assert runner("source", run_file, "--title", "a", "--locator", "a",
                  cwd=run_file.parent).returncode == 0
    for _ in range(5):
        assert runner("finding", run_file, "--claim", "c", "--source", "S1",
                      cwd=run_file.parent).returncode == 0
    proc = runner("step", run_file, cwd=run_file.parent)
    assert refused(proc) == [f"{run_file}: budget.max_steps: all 6 steps are spent; "
                             f"conclude with `verdict` or stop"]


def test_finding_citing_an_unrecorded_source_is_refused(run_file: Path) -> None:
    proc = runner("finding", run_file, "--claim", "c", "--source", "S1", cwd=run_file.parent)
    assert refused(proc) == [f"{run_file}: sources: no source 'S1'; record it with `source` "
                             f"first"]


def test_the_method_never_moves_back(run_file: Path) -> None:
    assert runner("step", run_file, cwd=run_file.parent).returncode == 0
    proc = runner("step", run_file, "--to", "frame", cwd=run_file.parent)
    assert refused(proc) == [f"{run_file}: method.current: cannot move from 'gather' to "
                             f"'frame'; the method only moves forward"]


def test_verdict_before_the_last_step_is_refused(run_file: Path) -> None:
    proc = runner("verdict", run_file, "--answer", "a", "--confidence", "low",
                  "--finding", "F1", cwd=run_file.parent)
    assert refused(proc) == [f"{run_file}: method.current: at 'frame'; move to the last "
                             f"step, 'conclude', before the verdict"]


def test_nothing_is_recorded_after_the_verdict(concluded: Path) -> None:
    proc = runner("source", concluded, "--title", "late", "--locator", "l",
                  cwd=concluded.parent)
    assert refused(proc) == [f"{concluded}: verdict: the run is concluded; start a new run "
                             f"file"]


def test_invalid_json_is_one_line_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "q.json"
    path.write_text("{")
    lines = refused(runner("summary", path, cwd=tmp_path))
    assert len(lines) == 1 and lines[0].startswith(f"{path}: invalid JSON:")


def test_a_missing_run_file_is_one_line_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.json"
    assert refused(runner("validate", path, cwd=tmp_path)) == [
        f"{path}: no such run file (create it with `init`)"]


def _set(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(run: dict[str, Any]) -> None:
        run[key] = value
    return edit


def _verdict_early(run: dict[str, Any]) -> None:
    run["method"]["current"] = "gather"


def _uncited(run: dict[str, Any]) -> None:
    run["findings"][0]["sources"] = ["S9"]


def _over_budget(run: dict[str, Any]) -> None:
    run["budget"]["max_sources"] = 1
    run["sources"].append({**run["sources"][0], "id": "S2"})


def _no_current(run: dict[str, Any]) -> None:
    del run["method"]["current"]


def _confidence(run: dict[str, Any]) -> None:
    run["verdict"]["confidence"] = "sure"


def _source_id(run: dict[str, Any]) -> None:
    run["sources"][0]["id"] = "X1"


#: A hand-edited run file: the edit, the line validate prints, whether the schema alone
#: also rejects it (the rest are rules only the runner can check).
BROKEN = {
    "unknown key": (_set("notes", "x"), "notes: unknown key", True),
    "empty question": (_set("question", ""), "question: must be a non-empty string", True),
    "no current step": (_no_current, "method.current: missing", True),
    "bad confidence": (_confidence, "verdict.confidence: must be one of low, medium, high",
                       True),
    "bad source id": (_source_id, "sources[0].id: must look like S1 (got 'X1')", True),
    "uncited finding": (_uncited, "findings[0].sources: cites 'S9', which is not a recorded "
                                  "source", False),
    "over budget": (_over_budget, "budget.max_sources: 2 sources recorded, the budget "
                                  "allows 1", False),
    "early verdict": (_verdict_early, "verdict: given at step 'gather'; a verdict comes at "
                                      "the last step, 'conclude'", False),
}


@pytest.mark.parametrize("case", BROKEN, ids=list(BROKEN))
def test_validate_names_the_key_of_a_hand_edited_run(concluded: Path, case: str) -> None:
    edit, line, schema_rejects = BROKEN[case]
    run = json.loads(concluded.read_text())
    edit(run)
    concluded.write_text(json.dumps(run))
    assert refused(runner("validate", concluded, cwd=concluded.parent)) == [
        f"{concluded}: {line}"]
    assert bool(schema_errors(run)) == schema_rejects


def test_installed_copy_carries_the_runner_and_the_schema(tmp_path: Path) -> None:
    home = tmp_path / "codex-home"
    shipped.install(home, ASSETS_ROOT)
    installed = home / "skills" / "research"
    assert (installed / "references/run.schema.json").read_text() == \
        (SKILL / "references/run.schema.json").read_text()
    proc = subprocess.run([sys.executable, "-B", str(installed / "scripts/research_run.py"),
                           "init", "q.json", "--question", "Q", "--step", "only",
                           "--max-sources", "1", "--max-steps", "1"],
                          cwd=tmp_path, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert not list(installed.rglob("__pycache__"))
