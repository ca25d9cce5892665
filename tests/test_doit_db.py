"""An unreadable doit database is set aside, and one the disk refuses (``ulimit -f``, a full
disk) is a warning line: lanes resume from their files, never stall, never a traceback."""

from __future__ import annotations

import resource
import sqlite3
import subprocess
import sys
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


RUN_LIMITED = """
import sys
from pathlib import Path
from maestro.pipeline.doit_run import run_tasks

folder = Path(sys.argv[1])

def task_big():
    for n in range(20):
        def work(n=n):
            (folder / f"done-{n}").write_text("ok")
            return {"value": "x" * 2000}  # doit keeps it: the database outgrows the limit
        yield {"name": str(n), "actions": [work], "uptodate": [False]}

config = {"backend": "sqlite3", "dep_file": str(folder / "doit.sqlite3"), "verbosity": 2,
          "default_tasks": [], "action_string_formatting": "new"}
sys.exit(run_tasks({"DOIT_CONFIG": config, "task_big": task_big}, ["big"], "zero"))
"""


def _run_with_file_limit(folder: Path, limit: int) -> subprocess.CompletedProcess[str]:
    """``run_tasks`` in a process whose files may not grow past ``limit`` bytes
    (``ulimit -f``: past it a write fails with EFBIG, Python ignores SIGXFSZ)."""
    def limit_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    script = folder.parent / "run_limited.py"  # doit reads its task creators' source
    script.write_text(RUN_LIMITED)
    return subprocess.run([sys.executable, str(script), str(folder)],
                          preexec_fn=limit_files, capture_output=True, text=True,
                          timeout=120, check=False)


@pytest.mark.parametrize(("limit", "words"), [(12 * 1024, "could not be saved"),
                                              (1024, "could not be opened")])
def test_a_database_the_disk_refuses_is_one_warning_and_the_work_is_done(
        tmp_path: Path, limit: int, words: str) -> None:
    work = tmp_path / "work"
    work.mkdir()
    proc = _run_with_file_limit(work, limit)
    assert "Traceback" not in proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if "doit.sqlite3" in line]
    assert len(warnings) == 1 and words in warnings[0], proc.stderr
    assert proc.returncode == 0
    assert len(list(work.glob("done-*"))) == 20
