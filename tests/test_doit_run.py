"""maestro.pipeline.doit_run: doit's ``run`` without its command line answers as ``DoitMain``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from doit.cmd_base import ModuleTaskLoader
from doit.doit_cmd import DoitMain
from doit.exceptions import TaskFailed

from maestro.pipeline.doit_run import run_tasks


def _namespace(tmp: Path, action: Callable[[], Any], log: list[str],
               config: dict[str, Any] | None = None) -> dict[str, Any]:
    def first() -> None:
        log.append("first")

    def task_demo() -> Iterator[dict[str, Any]]:
        yield {"name": "first", "actions": [first], "uptodate": [False]}
        yield {"name": "second", "actions": [action], "task_dep": ["demo:first"],
               "uptodate": [False]}

    doit_config = {"backend": "sqlite3", "dep_file": str(tmp / "doit.sqlite3"),
                   "verbosity": 2, "default_tasks": [], "action_string_formatting": "new"}
    return {"DOIT_CONFIG": {**doit_config, **(config or {})}, "task_demo": task_demo}


def _ok() -> None:
    return None


def _failed() -> TaskFailed:
    return TaskFailed("no")


def _raises() -> None:
    raise RuntimeError("boom")


CASES: dict[str, tuple[Callable[[], Any], dict[str, Any] | None]] = {
    "done": (_ok, None),
    "task failed": (_failed, None),
    "task raised": (_raises, None),
    "bad backend": (_ok, {"backend": "nosuch"}),
    "bad formatting": (_ok, {"action_string_formatting": "odd"}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_exit_code_and_work_match_doit_main(case: str, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # DoitMain reads pyproject.toml/doit.cfg here: none
    action, config = CASES[case]
    answers = []
    for name, run in (("direct", lambda ns: run_tasks(ns, ["demo:second"], "zero")),
                      ("doit", lambda ns: DoitMain(ModuleTaskLoader(ns)).run(
                          ["--reporter", "zero", "demo:second"]))):
        folder = tmp_path / name
        folder.mkdir()
        log: list[str] = []
        answers.append((run(_namespace(folder, action, log, config)), log))
    assert answers[0] == answers[1]


def test_a_task_creator_that_raises_is_code_3_with_its_traceback(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def task_broken() -> Iterator[dict[str, Any]]:
        raise ValueError("creator broke")
        yield {}

    namespace = {"DOIT_CONFIG": {"backend": "sqlite3",
                                 "dep_file": str(tmp_path / "doit.sqlite3")},
                 "task_broken": task_broken}
    assert run_tasks(namespace, ["broken"]) == 3
    assert "ValueError: creator broke" in capsys.readouterr().err


def test_an_up_to_date_task_is_not_run_again(tmp_path: Path) -> None:
    runs: list[str] = []

    def task_once() -> dict[str, Any]:
        return {"actions": [lambda: runs.append("ran")], "targets": [], "file_dep": [],
                "uptodate": [lambda: bool(runs)]}

    namespace = {"DOIT_CONFIG": {"backend": "sqlite3",
                                 "dep_file": str(tmp_path / "doit.sqlite3")},
                 "task_once": task_once}
    assert run_tasks(namespace, ["once"], "zero") == 0
    assert run_tasks(namespace, ["once"], "zero") == 0
    assert runs == ["ran"]


def test_an_unknown_reporter_is_refused_before_any_task(tmp_path: Path) -> None:
    log: list[str] = []
    assert run_tasks(_namespace(tmp_path, _ok, log), ["demo:second"], "fancy") == 3
    assert log == []
