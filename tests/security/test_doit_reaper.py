"""``doit lane:ID`` adopts what a killed supervisor leaves behind, as ``maestro lane`` does:
a validation command that kills its own supervisor still leaves nothing running."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from maestro.containment import reaper
from tests.conftest import Sandbox
from tests.security.test_reaper import ESCAPE, escapee, gone

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not reaper.supported(), reason="the reaper needs Linux /proc")]


def test_a_validation_command_that_kills_its_supervisor_leaves_nothing_after_doit(
        sandbox: Sandbox, tmp_path: Path) -> None:
    pidfile = tmp_path / "escapee.pid"
    escape = (ESCAPE.format(pidfile=pidfile) + f" while [ ! -s {pidfile} ]; do :; done;"
              " kill -9 $PPID")
    sandbox.edit_workflow("python3 -m unittest -q test_hello", escape.replace('"', '\\"'))
    sandbox.add_issue("RP-1")
    subprocess.run([sys.executable, "-m", "doit", "validate:RP-1"], cwd=sandbox.repo,
                   capture_output=True, text=True, timeout=180, check=False)
    assert gone(escapee(pidfile))
