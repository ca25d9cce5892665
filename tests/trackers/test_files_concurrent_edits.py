"""A person's edit of an issue file while maestro edits it is never lost (finding 5).

maestro's read-modify-write notices the file changed between its read and its rename
(maestro/trackers/guarded_write.py) and redoes the edit on the person's version. The
person's edit is made at exactly that moment by wrapping the guarded replace.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from maestro.errors import IssueStateChanged, TrackerError
from maestro.trackers import files
from maestro.trackers.files import EDIT_ATTEMPTS, FilesTracker
from maestro.trackers.guarded_write import Seen, look, replace_unless_changed

ISSUE = "---\ntitle: Fix it\nstate: Todo\n---\nThe body.\n"


@pytest.fixture
def issue(tmp_path: Path) -> Path:
    folder = tmp_path / "issues"
    folder.mkdir()
    path = folder / "WEB-1.md"
    path.write_text(ISSUE)
    return path


def person_appends_during_the_write(monkeypatch: pytest.MonkeyPatch, path: Path,
                                    times: int) -> list[str]:
    """Make a person append a line to ``path`` just before each of the next ``times``
    guarded replaces; returns the lines appended."""
    appended: list[str] = []

    def replace(target: Path, seen: Seen, data: bytes) -> bool:
        if len(appended) < times:
            line = f"person's note {len(appended) + 1}"
            with target.open("a") as handle:
                handle.write(line + "\n")
            appended.append(line)
        return replace_unless_changed(target, seen, data)

    monkeypatch.setattr(files, "replace_unless_changed", replace)
    return appended


def test_an_append_during_a_comment_write_is_kept(
        issue: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    appended = person_appends_during_the_write(monkeypatch, issue, times=1)
    FilesTracker(issue.parent, "WEB").comment("WEB-1", "maestro's comment")
    text = issue.read_text()
    assert appended == ["person's note 1"]
    assert "person's note 1" in text and "maestro's comment" in text


def test_a_transition_is_redone_on_the_persons_version(
        issue: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    person_appends_during_the_write(monkeypatch, issue, times=2)
    tracker = FilesTracker(issue.parent, "WEB")
    assert tracker.transition("WEB-1", "In Progress") is True
    assert tracker.get("WEB-1").state == "In Progress"
    assert issue.read_text().endswith("person's note 1\nperson's note 2\n")


def test_a_file_that_keeps_changing_fails_the_edit_and_writes_nothing(
        issue: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    appended = person_appends_during_the_write(monkeypatch, issue, times=EDIT_ATTEMPTS)
    with pytest.raises(TrackerError, match=f"kept changing .*{EDIT_ATTEMPTS} attempts"):
        FilesTracker(issue.parent, "WEB").comment("WEB-1", "maestro's comment")
    text = issue.read_text()
    assert "maestro's comment" not in text and all(line in text for line in appended)


def test_a_replace_is_refused_when_the_file_changed_since_it_was_read(issue: Path) -> None:
    seen = look(issue)
    assert seen is not None
    issue.write_text(ISSUE.replace("Todo", "Done"))
    assert replace_unless_changed(issue, seen, b"maestro's version") is False
    assert "Done" in issue.read_text()
    assert list(issue.parent.glob(".*.tmp")) == []  # no temporary file left behind


def test_a_replace_happens_when_the_file_is_as_read(issue: Path) -> None:
    seen = look(issue)
    assert seen is not None
    assert replace_unless_changed(issue, seen, b"maestro's version") is True
    assert issue.read_bytes() == b"maestro's version"


def test_a_conditional_transition_judges_the_state_read_right_before_its_write(
        tmp_path: Path) -> None:
    tracker = FilesTracker(tmp_path, "T")
    tracker.create("Title", "Body.", state="In Review", identifier="T-1")
    assert tracker.get("T-1").state == "In Review"  # what the caller saw
    path = tmp_path / "T-1.md"
    path.write_text(path.read_text().replace("state: In Review", "state: Canceled"))  # a person
    with pytest.raises(IssueStateChanged):
        tracker.transition("T-1", "Done", unless=lambda state: state == "Canceled")
    assert tracker.get("T-1").state == "Canceled"
