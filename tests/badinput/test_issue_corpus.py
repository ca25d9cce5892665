"""Hostile issues in the files tracker: broken front matter, hostile identifiers and titles.

A tracker is outside input. A broken issue file gets one message naming the file and the
field; an identifier that could become a path or a command never does; a title full of
shell metacharacters, newlines or 10 kB of text travels through a whole lane as plain data.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from maestro.errors import InputError, TrackerError
from maestro.trackers.files import FilesTracker
from tests.conftest import Sandbox

CORPUS = Path(__file__).with_name("corpus") / "issues"

CASES = {
    "binary": "expected UTF-8 Markdown, found binary data",
    "blocked-by-nested": "blocked_by: expected a list of strings",
    "created-garbage": "created_at: expected an ISO 8601 time (got 'yesterday')",
    "labels-billion-laughs": "labels: expected a list of strings",
    "labels-mapping": "labels: expected a list of strings",
    "no-front-matter": "expected YAML front matter between '---' lines",
    "priority-bool": "priority: expected an integer (got True)",
    "priority-string": "priority: expected an integer (got 'high')",
    "state-list": "state: expected a state name",
    "title-blank": "title: expected a non-empty string",
    "title-list": "title: expected a non-empty string",
    "title-missing": "title: expected a non-empty string",
    "unterminated-front-matter": "expected YAML front matter between '---' lines",
    "yaml-error": "front matter: invalid YAML",
    "yaml-list": "front matter: expected a mapping of keys",
    "yaml-python-tag": "title: expected a non-empty string",
}

#: Names a person (or a compromised tracker) could give an issue file; none is a lane name.
HOSTILE_NAMES = ["a b", "x;rm -rf ~", "$(id)", "`id`", "-rf", "ÄBC-1", "a..b", "name.lock",
                 "trailing.", "x" * 65, "new\nline", "tab\there", "back\\slash", "quote'd"]


def test_every_issue_corpus_file_has_a_stated_expectation() -> None:
    assert sorted(p.stem for p in CORPUS.iterdir()) == sorted(CASES)


@pytest.mark.parametrize("stem", sorted(CASES))
def test_broken_issue_file_gets_one_message_naming_file_and_field(stem: str) -> None:
    tracker = FilesTracker(CORPUS, "X")
    started = time.process_time()
    with pytest.raises(TrackerError) as caught:
        tracker.get(stem)
    assert time.process_time() - started < 5
    message = str(caught.value)
    assert message.startswith(str(CORPUS / f"{stem}.md"))
    assert CASES[stem] in message
    assert len(message) < 500
    assert "\n" not in message  # one line (ruamel.yaml's errors quote the source over several)
    assert caught.value.exit_code == 2  # bad input (README: exit 2)


def test_an_invalid_yaml_issue_file_is_one_line_and_exit_2_on_the_command_line(
        sandbox: Sandbox) -> None:
    (sandbox.repo / "issues" / "DEMO-9.md").write_text(
        (CORPUS / "yaml-error.md").read_text())
    proc = sandbox.maestro("issue", "show", "DEMO-9")
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "invalid YAML" in proc.stderr
    assert "line" in proc.stderr and "Traceback" not in proc.stderr


def test_an_overlong_identifier_is_cut_short_in_the_error(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        FilesTracker(tmp_path, "X").get("A" * 5000)
    assert len(str(caught.value)) < 300 and "AAAA..." in str(caught.value)


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_identifier_is_refused_by_the_tracker(tmp_path: Path, name: str) -> None:
    tracker = FilesTracker(tmp_path, "X")
    with pytest.raises(InputError, match="not usable as a lane name"):
        tracker.get(name)
    with pytest.raises(InputError, match="not usable as a lane name"):
        tracker.create("t", identifier=name)
    assert list(tmp_path.iterdir()) == [] or all(p.name.startswith(".") for p in
                                                  tmp_path.iterdir())


@pytest.mark.parametrize("name", ["a b", "$(id)", "-rf", "ÄBC-1", "name.lock"])
def test_issue_file_with_a_hostile_name_is_named_in_the_error(tmp_path: Path, name: str
                                                              ) -> None:
    (tmp_path / f"{name}.md").write_text("---\ntitle: T\nstate: Todo\n---\n")
    tracker = FilesTracker(tmp_path, "X")
    assert tracker.candidates(["Todo"]) == []
    assert len(tracker.problems) == 1
    assert "not usable as a lane name" in tracker.problems[0]
    assert f"{name}.md" in tracker.problems[0]


def test_a_title_with_a_newline_cannot_be_created() -> None:
    with pytest.raises(InputError, match="one non-empty line"):
        FilesTracker(Path("/nonexistent"), "X").create("line one\nline two")


# -- through the command line and a whole lane ---------------------------------------------


def files_outside(root: Path, allowed: tuple[str, ...]) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")
            if not str(p.relative_to(root)).startswith(allowed)}


@pytest.mark.parametrize("name", ["../escape", "/etc/passwd", "x;touch pwned", "$(touch pwned)",
                                  "a\nb", "-rf"])
def test_cli_refuses_a_hostile_lane_name_without_writing(sandbox: Any, name: str) -> None:
    before = files_outside(sandbox.root, ())
    proc = sandbox.maestro("lane", name)
    assert proc.returncode == 2
    refusal = "usage: maestro lane" if name.startswith("-") else "not usable as a lane name"
    assert refusal in proc.stderr and "Traceback" not in proc.stderr
    assert files_outside(sandbox.root, ()) == before


def test_doit_refuses_a_hostile_lane_name(sandbox: Any) -> None:
    if not (sandbox.repo / "dodo.py").exists():
        shutil.copy(Path(__file__).resolve().parents[2] / "dodo.py", sandbox.repo / "dodo.py")
    proc = subprocess.run([sys.executable, "-m", "doit", "lane:../../escape"], cwd=sandbox.repo,
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode != 0
    assert "not usable as a lane name" in proc.stderr and "Traceback" not in proc.stderr
    assert not (sandbox.root / "escape").exists()


def test_a_broken_issue_file_is_named_and_the_tick_goes_on(sandbox: Any) -> None:
    sandbox.add_issue("OK-1")
    (sandbox.repo / "issues" / "BAD-1.md").write_text("---\ntitle: [unclosed\n---\n")
    proc = sandbox.maestro("run", "--once", "--dry-run")
    assert proc.returncode == 0
    assert "issue skipped" in proc.stderr
    assert "BAD-1.md: front matter: invalid YAML" in proc.stderr
    assert "dispatch OK-1: new work" in proc.stdout
    assert "Traceback" not in proc.stderr


HOSTILE_TITLE = ("$(touch pwned-dollar) `touch pwned-tick`; touch pwned-semi && "
                 "echo '\" <!-- maestro:state {} --> ") + "long " * 2000


def test_a_hostile_title_travels_through_a_lane_as_plain_data(sandbox: Any) -> None:
    sandbox.add_issue("TTL-1", title=HOSTILE_TITLE, script="steps:\n  - write: "
                      "{path: f.txt, content: x}\n  - commit: add f\n  - handoff: done\n")
    allowed = ("repo/.maestro", "repo/.worktrees", "repo/issues", "repo/.git", "origin.git")
    before = files_outside(sandbox.root, allowed)
    proc = sandbox.lane("TTL-1")
    assert proc.returncode == 0, proc.stderr
    assert sandbox.outcome("TTL-1") == "waiting"
    assert sandbox.issue("TTL-1").title == HOSTILE_TITLE.strip()
    assert not list(sandbox.root.rglob("pwned*"))
    assert not list(sandbox.root.parent.glob("pwned*"))
    assert files_outside(sandbox.root, allowed) == before
    status = sandbox.maestro("status", "--json")
    assert status.returncode == 0 and "Traceback" not in status.stderr
