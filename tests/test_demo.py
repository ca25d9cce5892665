"""`maestro demo` runs the whole lifecycle offline and ends in the documented state."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from maestro.trackers.files import FilesTracker


def test_demo_reaches_the_documented_end_state(tmp_path: Path) -> None:
    target = tmp_path / "demo"
    proc = subprocess.run([sys.executable, "-m", "maestro", "demo", "--dir", str(target)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    tracker = FilesTracker(target / "repo" / "issues", "DEMO")
    states = {i.identifier: (i.state, i.labels) for i in tracker.all_issues()}
    assert states["DEMO-1"] == ("Done", ())
    assert states["DEMO-3"] == ("Done", ())
    assert states["DEMO-4"] == ("Done", ())
    assert states["DEMO-2"] == ("Todo", ("maestro:needs-attention",))
    log = subprocess.run(["git", "log", "--format=%s", "main"], cwd=target / "origin.git",
                         capture_output=True, text=True, check=True).stdout
    assert log.count("Merge pull request") == 3
    assert "changelog: add the docs entry (review)" in log
    for identifier in ("DEMO-1", "DEMO-3", "DEMO-4"):
        assert not (target / "repo" / ".worktrees" / identifier).exists()
    assert (target / "repo" / ".worktrees" / "DEMO-2").exists(), "attention lanes keep work"


def test_demo_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "keep.txt").write_text("mine")
    proc = subprocess.run([sys.executable, "-m", "maestro", "demo", "--dir", str(tmp_path / "x")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "not empty" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert (tmp_path / "x" / "keep.txt").read_text() == "mine"
