"""maestro's own process entry leaves its heap to the OS at exit; a caller's does not."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

PROBE = """
import atexit, gc, sys
atexit.register(lambda: print("frozen at exit:", gc.get_freeze_count() > 0, flush=True))
sys.argv = ["maestro", "init", {path!r}]
from maestro.cli import main
main({argv})
"""


@pytest.mark.parametrize(("argv", "frozen"), [("", True), ("sys.argv[1:]", False)],
                         ids=["process entry", "called with argv"])
def test_only_the_process_entry_skips_the_heap_teardown(tmp_path: Path, argv: str,
                                                        frozen: bool) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path / "repo")], check=True)
    code = PROBE.format(path=str(tmp_path / "repo"), argv=argv)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    # atexit handlers still run after the freeze, and the command did its work
    assert f"frozen at exit: {frozen}" in proc.stdout
    assert (tmp_path / "repo" / "maestro.toml").is_file()
