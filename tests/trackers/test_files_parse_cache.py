"""The files tracker's parse cache: reused while a file is unchanged, never after."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from maestro.trackers import parse_cache
from maestro.trackers.files import FilesTracker

ISSUE = ("---\n# keep me\ntitle: {title}\nstate: {state}\nlabels: [a]\nblocked_by: {blocked}\n"
         "---\nbody\n")


def write(folder: Path, identifier: str, state: str = "Todo", title: str = "Some work",
          blocked: str = "[]") -> Path:
    path = folder / f"{identifier}.md"
    path.write_text(ISSUE.format(title=title, state=state, blocked=blocked))
    return path


@pytest.fixture(autouse=True)
def fresh_process() -> Iterator[None]:
    parse_cache.forget_all()
    yield
    parse_cache.forget_all()


@pytest.fixture
def settled_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files count as settled as soon as they are read, so entries are trusted on their
    stat alone and reach the disk (otherwise files this young are confirmed by content)."""
    monkeypatch.setattr(parse_cache, "RACY_NS", 0)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    folder = tmp_path / "repo" / "issues"
    folder.mkdir(parents=True)
    for number in range(1, 4):
        write(folder, f"T-{number}")
    return folder


def tracker(folder: Path) -> FilesTracker:
    return FilesTracker(folder, "T", cache_dir=folder.parent / ".maestro" / "cache")


def parses(folder: Path) -> int:
    return parse_cache.cache_for(folder, None).parses


def disk_entries(folder: Path) -> dict[str, list[object]]:
    """The rows of the cache on disk by file name."""
    (cache,) = (folder.parent / ".maestro" / "cache").glob("files-tracker-*.json")
    return {row[0]: row for row in json.loads(cache.read_text())["rows"]}


@pytest.mark.usefixtures("settled_at_once")
def test_a_fresh_process_reuses_the_parses_on_disk(folder: Path) -> None:
    first = tracker(folder).all_issues()
    parse_cache.forget_all()
    assert tracker(folder).all_issues() == first
    assert parses(folder) == 0


@pytest.mark.usefixtures("settled_at_once")
def test_a_fresh_process_parses_only_what_changed(folder: Path) -> None:
    tracker(folder).all_issues()
    parse_cache.forget_all()
    write(folder, "T-2", state="Done")
    states = {i.identifier: i.state for i in tracker(folder).all_issues()}
    assert states == {"T-1": "Todo", "T-2": "Done", "T-3": "Todo"}
    assert parses(folder) == 1


@pytest.mark.usefixtures("settled_at_once")
def test_an_edit_in_place_with_the_same_size_and_mtime_is_read_again(folder: Path) -> None:
    path = folder / "T-1.md"
    assert tracker(folder).get("T-1").state == "Todo"
    before = path.stat()
    write(folder, "T-1", state="Done")  # same size, same inode, within the same second
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size and path.stat().st_ino == before.st_ino
    assert tracker(folder).get("T-1").state == "Done"


@pytest.mark.usefixtures("settled_at_once")
def test_a_fresh_process_scanning_the_folder_sees_an_edit_that_kept_size_and_mtime(
        folder: Path) -> None:
    path = folder / "T-2.md"
    tracker(folder).all_issues()
    before = path.stat()
    write(folder, "T-2", state="Done")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    parse_cache.forget_all()
    states = {i.identifier: i.state for i in tracker(folder).all_issues()}
    assert states == {"T-1": "Todo", "T-2": "Done", "T-3": "Todo"}


def test_when_the_stat_cannot_tell_two_versions_apart_the_content_does(
        folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parse_cache, "stat_key", lambda st: (0, 0, 0, 0, 0))
    assert tracker(folder).get("T-1").state == "Todo"
    write(folder, "T-1", state="Done")
    assert tracker(folder).get("T-1").state == "Done"


@pytest.mark.usefixtures("settled_at_once")
def test_a_replaced_file_is_read_again(folder: Path) -> None:
    assert tracker(folder).get("T-1").title == "Some work"
    write(folder, "NEW", title="Some more")
    os.replace(folder / "NEW.md", folder / "T-1.md")
    assert tracker(folder).get("T-1").title == "Some more"


@pytest.mark.usefixtures("settled_at_once")
def test_a_deleted_issue_drops_out_of_memory_and_disk(folder: Path) -> None:
    tracker(folder).all_issues()
    (folder / "T-3.md").unlink()
    assert [i.identifier for i in tracker(folder).all_issues()] == ["T-1", "T-2"]
    assert not any(name.endswith("T-3.md") for name in disk_entries(folder))
    parse_cache.forget_all()
    assert [i.identifier for i in tracker(folder).all_issues()] == ["T-1", "T-2"]


def test_files_changed_moments_before_the_read_stay_off_disk(folder: Path) -> None:
    tracker(folder).all_issues()
    assert disk_entries(folder) == {}


@pytest.mark.usefixtures("settled_at_once")
@pytest.mark.parametrize("damage", [
    b"", b"not json", b"\xff\xfe", b"[]", b'{"format": 99, "rows": []}',
    b'{"format": 1, "entries": {"x": [1, 2, 3, 4, 5, {"issue": {}}]}}',
], ids=repr)
def test_a_damaged_cache_file_is_ignored_and_rebuilt(folder: Path, damage: bytes) -> None:
    expected = tracker(folder).all_issues()
    (cache,) = (folder.parent / ".maestro" / "cache").glob("files-tracker-*.json")
    cache.write_bytes(damage)
    parse_cache.forget_all()
    assert tracker(folder).all_issues() == expected
    assert len(disk_entries(folder)) == 3


@pytest.mark.usefixtures("settled_at_once")
def test_a_cache_entry_for_another_file_version_is_not_used(folder: Path) -> None:
    tracker(folder).all_issues()
    (cache,) = (folder.parent / ".maestro" / "cache").glob("files-tracker-*.json")
    document = json.loads(cache.read_text())
    for row in document["rows"]:
        row[7] = "Done"  # a stale parse under a stat that no longer holds
        row[2] -= 1
    cache.write_text(json.dumps(document))
    parse_cache.forget_all()
    assert {i.state for i in tracker(folder).all_issues()} == {"Todo"}


def test_blockers_resolve_without_reading_unrelated_issue_files(folder: Path) -> None:
    write(folder, "T-9", blocked="[T-1, T-2, T-404, '../x']")
    for number in range(10, 30):
        (folder / f"T-{number}.md").write_text("not an issue: no front matter\n")
    issue = tracker(folder).get("T-9")
    assert issue.blocker_states == {"T-1": "Todo", "T-2": "Todo"}
    assert parses(folder) == 3  # T-9 and its two blockers, nothing else


def test_fetch_reads_only_the_issues_asked_for(folder: Path) -> None:
    (folder / "T-5.md").write_text("---\ntitle: [broken\n---\n")
    assert set(tracker(folder).fetch(["T-1", "T-5", "T-404", "../x"])) == {"T-1"}
    assert parses(folder) == 2


def test_the_lanes_own_write_is_not_parsed_again_on_the_next_read(folder: Path) -> None:
    lane = tracker(folder)
    assert lane.get("T-1").state == "Todo"
    lane.transition("T-1", "In Progress")
    after_write = parses(folder)
    assert lane.get("T-1").state == "In Progress"
    assert lane.get("T-1").state == "In Progress"
    assert parses(folder) == after_write


def test_comments_are_read_again_after_a_new_comment(folder: Path) -> None:
    lane = tracker(folder)
    assert lane.comments("T-1") == []
    lane.comment("T-1", "first")
    lane.comment("T-1", "second")
    assert [c.body for c in lane.comments("T-1")] == ["first", "second"]
    assert [c.body for c in lane.comments("T-1")] == ["first", "second"]


def test_a_write_round_trips_a_simple_file_byte_for_byte_but_the_change(folder: Path) -> None:
    path = folder / "T-1.md"
    text = ("---\ntitle: 'Quoted title'   # a person's note\nstate: Todo\n"
            "labels:\n  - a\n  - b\nblocked_by: []\npriority: 2\n---\nThe body.\n")
    path.write_text(text)
    lane = tracker(folder)
    assert lane.get("T-1").labels == ("a", "b")
    lane.transition("T-1", "In Progress")
    assert path.read_text() == text.replace("state: Todo", "state: In Progress")


@pytest.mark.usefixtures("settled_at_once")
def test_a_cache_written_by_other_parsing_code_is_not_used(
        folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tracker(folder).all_issues()
    parse_cache.forget_all()
    monkeypatch.setattr(parse_cache, "code_fingerprint", lambda: "after an upgrade")
    tracker(folder).all_issues()
    assert parses(folder) == 3
