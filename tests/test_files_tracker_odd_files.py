"""Issue files as editors and file systems leave them: a BOM, a folder, unreadable bytes.
One odd file never hides the others (DESIGN trust rule 6)."""

from __future__ import annotations

from pathlib import Path

from maestro.trackers.files import FilesTracker
from tests.conftest import Sandbox

ISSUE = """---
title: {title}
state: Todo
labels: []
created_at: '2026-01-01T00:00:00+00:00'
---
Body of {title}.
"""


def tracker_with(tmp_path: Path, files: dict[str, bytes]) -> FilesTracker:
    folder = tmp_path / "issues"
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return FilesTracker(folder, "ODD")


def test_an_issue_file_with_a_utf8_bom_is_read(tmp_path: Path) -> None:
    tracker = tracker_with(tmp_path, {
        "ODD-1.md": b"\xef\xbb\xbf" + ISSUE.format(title="bom").encode()})
    assert [i.title for i in tracker.candidates(["Todo"])] == ["bom"]
    assert tracker.problems == []


def test_an_issue_file_with_a_bom_can_be_edited(tmp_path: Path) -> None:
    tracker = tracker_with(tmp_path, {
        "ODD-1.md": b"\xef\xbb\xbf" + ISSUE.format(title="bom").encode()})
    tracker.transition("ODD-1", "In Progress")
    assert tracker.get("ODD-1").state == "In Progress"


def test_unreadable_entries_are_skipped_with_a_warning_naming_them(tmp_path: Path) -> None:
    tracker = tracker_with(tmp_path, {
        "ODD-1.md": ISSUE.format(title="fine").encode(),
        "ODD-2.md": b"\xff\xfe\x00garbage",
    })
    (tmp_path / "issues" / "ODD-3.md").mkdir()  # a folder named like an issue
    assert [i.identifier for i in tracker.candidates(["Todo"])] == ["ODD-1"]
    assert len(tracker.problems) == 2
    assert any("ODD-2.md" in p and "binary" in p for p in tracker.problems)
    assert any("ODD-3.md" in p and "cannot read" in p for p in tracker.problems)


def test_a_bom_issue_is_planned_by_a_dry_run(sandbox: Sandbox) -> None:
    (sandbox.repo / "issues" / "BOM-1.md").write_bytes(
        b"\xef\xbb\xbf" + ISSUE.format(title="saved with a BOM").encode())
    proc = sandbox.maestro("run", "--once", "--dry-run", check=True)
    assert "dispatch BOM-1" in proc.stdout
