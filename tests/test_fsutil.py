"""Journals stay bounded however chatty the agent is, and reading one never hangs."""

from __future__ import annotations

import os
from pathlib import Path

from maestro.fsutil import BoundedJournal, append_jsonl, read_jsonl, read_regular


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


def test_a_journal_replaced_by_a_fifo_reads_as_empty_without_waiting(tmp_path: Path) -> None:
    fifo = tmp_path / "journal.jsonl"
    os.mkfifo(fifo)
    assert read_jsonl(fifo) == []


def test_a_journal_linked_to_a_device_reads_as_empty(tmp_path: Path) -> None:
    link = tmp_path / "journal.jsonl"
    link.symlink_to("/dev/zero")
    assert read_jsonl(link) == []


def test_an_oversized_record_is_read_from_its_newest_bytes(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    path.write_bytes(b'{"n": 1}\n' * 10)
    assert read_regular(path, limit=18) == b'{"n": 1}\n{"n": 1}\n'
