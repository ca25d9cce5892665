"""Journals stay bounded however chatty the agent is."""

from __future__ import annotations

from pathlib import Path

from maestro.fsutil import BoundedJournal, append_jsonl


def test_bounded_journal_rotates_when_full(tmp_path: Path) -> None:
    journal = BoundedJournal(tmp_path / "journal.jsonl", max_bytes=1000)
    for index in range(200):
        journal.write({"event": "rpc", "n": index})
    journal.close()
    assert (tmp_path / "journal.jsonl").stat().st_size <= 1000
    assert (tmp_path / "journal.jsonl.1").stat().st_size <= 1000
    assert '"n": 199' in (tmp_path / "journal.jsonl").read_text()


def test_append_jsonl_rotates_when_full(tmp_path: Path) -> None:
    for index in range(100):
        append_jsonl(tmp_path / "j.jsonl", {"n": index}, max_bytes=300)
    assert (tmp_path / "j.jsonl").stat().st_size <= 300
    assert (tmp_path / "j.jsonl.1").exists()
