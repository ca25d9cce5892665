"""The files tracker: hand-edited Markdown issues survive maestro's writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from maestro.errors import TrackerError, UnknownIssueError
from maestro.trackers.files import FilesTracker

HAND_WRITTEN = """\
---
# written by a person
title: Fix the login page   # keep this comment
priority: 2
state: Todo
labels: [bug]
blocked_by: [WEB-1]
created_at: 2026-11-01T10:00:00Z
---
The login page breaks on Safari.
"""


@pytest.fixture
def tracker(tmp_path: Path) -> FilesTracker:
    folder = tmp_path / "issues"
    folder.mkdir()
    (folder / "WEB-2.md").write_text(HAND_WRITTEN)
    (folder / "WEB-1.md").write_text("---\ntitle: Base\nstate: In Progress\n---\nbase\n")
    return FilesTracker(folder, "WEB")


def test_reading_an_issue_gives_every_field(tracker: FilesTracker) -> None:
    issue = tracker.get("WEB-2")
    assert issue.title == "Fix the login page"
    assert issue.state == "Todo"
    assert issue.labels == ("bug",)
    assert issue.blocked_by == ("WEB-1",)
    assert issue.blocker_states == {"WEB-1": "In Progress"}
    assert issue.priority == 2
    assert issue.description == "The login page breaks on Safari."


def test_writes_keep_comments_key_order_and_body(tracker: FilesTracker) -> None:
    tracker.transition("WEB-2", "In Progress")
    tracker.add_label("WEB-2", "maestro:needs-attention")
    tracker.comment("WEB-2", "first line\nsecond line")
    text = (tracker.folder / "WEB-2.md").read_text()
    assert "# written by a person" in text
    assert "# keep this comment" in text
    assert text.index("title:") < text.index("priority:") < text.index("state:")
    assert "state: In Progress" in text
    assert text.endswith("---\nThe login page breaks on Safari.\n")
    assert tracker.comments("WEB-2")[0].body == "first line\nsecond line"


def test_transition_to_the_current_state_is_a_no_op(tracker: FilesTracker) -> None:
    before = (tracker.folder / "WEB-2.md").stat().st_mtime_ns
    assert tracker.transition("WEB-2", "todo") is False
    assert (tracker.folder / "WEB-2.md").stat().st_mtime_ns == before


def test_adding_a_present_label_is_a_no_op(tracker: FilesTracker) -> None:
    assert tracker.add_label("WEB-2", "BUG") is False
    assert tracker.get("WEB-2").labels == ("bug",)


def test_candidates_filter_by_state(tracker: FilesTracker) -> None:
    assert [i.identifier for i in tracker.candidates(["Todo"])] == ["WEB-2"]


def test_fetch_refreshes_many_issues_at_once(tracker: FilesTracker) -> None:
    assert set(tracker.fetch(["WEB-1", "WEB-2", "WEB-9"])) == {"WEB-1", "WEB-2"}


def test_unknown_issue_is_a_clear_error(tracker: FilesTracker) -> None:
    with pytest.raises(UnknownIssueError, match="WEB-9"):
        tracker.get("WEB-9")


def test_create_numbers_issues_after_the_highest(tracker: FilesTracker) -> None:
    issue = tracker.create("Next thing", "text")
    assert issue.identifier == "WEB-3"
    assert issue.state == "Todo"


def test_a_file_without_front_matter_is_named_in_the_error(tracker: FilesTracker) -> None:
    (tracker.folder / "WEB-5.md").write_text("just text\n")
    with pytest.raises(TrackerError, match=r"WEB-5\.md: expected YAML front matter"):
        tracker.get("WEB-5")


def test_a_broken_file_does_not_stop_the_other_issues(tracker: FilesTracker) -> None:
    (tracker.folder / "WEB-5.md").write_text("just text\n")
    assert [i.identifier for i in tracker.candidates(["Todo"])] == ["WEB-2"]
    assert len(tracker.problems) == 1
    assert "WEB-5.md: expected YAML front matter" in tracker.problems[0]


def test_an_edited_file_is_read_again(tracker: FilesTracker) -> None:
    assert tracker.get("WEB-2").state == "Todo"
    path = tracker.folder / "WEB-2.md"
    path.write_text(path.read_text().replace("state: Todo", "state: Backlog   "))
    assert tracker.get("WEB-2").state == "Backlog"


def test_a_wrongly_typed_field_is_named_in_the_error(tracker: FilesTracker) -> None:
    (tracker.folder / "WEB-6.md").write_text("---\ntitle: x\nstate: Todo\npriority: high\n---\n")
    with pytest.raises(TrackerError, match=r"WEB-6\.md: priority: expected an integer"):
        tracker.get("WEB-6")


def test_comment_bodies_are_stored_as_readable_blocks(tracker: FilesTracker) -> None:
    tracker.comment("WEB-1", "line one\nline two")
    text = (tracker.folder / "WEB-1.md").read_text()
    assert "body: |" in text
    assert "      line two" in text
