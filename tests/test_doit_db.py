"""An unreadable doit database is set aside: lanes resume from their files, never stall."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from maestro.pipeline import doit_config
from maestro.pipeline.doit_db import set_aside_if_unreadable


def database(path: Path) -> Path:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE doit (task_id TEXT PRIMARY KEY, task_data TEXT)")
    return path


def test_a_file_that_is_not_a_database_is_moved_aside_and_named(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "doit.sqlite3"
    path.write_bytes(b"garbage garbage garbage")
    aside = set_aside_if_unreadable(path)
    assert aside is not None and aside.read_bytes() == b"garbage garbage garbage"
    assert not path.exists()
    assert f"{path} could not be read (file is not a database)" in capsys.readouterr().err


def test_a_readable_database_stays(tmp_path: Path) -> None:
    path = database(tmp_path / "doit.sqlite3")
    assert set_aside_if_unreadable(path) is None and path.exists()


def test_a_database_another_process_is_writing_stays(tmp_path: Path) -> None:
    path = database(tmp_path / "doit.sqlite3")
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN EXCLUSIVE")
    try:
        assert set_aside_if_unreadable(path, busy_timeout_s=0.05) is None and path.exists()
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_an_absent_database_is_left_for_doit_to_create(tmp_path: Path) -> None:
    assert set_aside_if_unreadable(tmp_path / "doit.sqlite3") is None


def test_every_lane_run_checks_the_database_before_doit_opens_it(tmp_path: Path) -> None:
    (tmp_path / "doit.sqlite3").write_bytes(b"\x00" * 4096)
    config = doit_config(tmp_path)
    assert not Path(config["dep_file"]).exists()
    assert len(list(tmp_path.glob("doit.sqlite3.unreadable-*"))) == 1
