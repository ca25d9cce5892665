"""A lane process starts up without cyclic collections and collects again from its first
phase on, its start-up objects frozen; a caller's interpreter is never touched
(maestro/process/start.py)."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

import pytest

from maestro.process import start as process_start

ENTRY = """
import gc, sys
import maestro.cli as cli
seen = []
def lane(args):
    seen.append(gc.isenabled())
    return 0
cli.cmd_lane = lane  # the parser is built after this, with this handler
sys.argv = ["maestro", "lane", "ABC-1"]
try:
    cli.main({argv})
except SystemExit:
    pass
print("collector on in the lane:", seen)
"""

FIRST_PHASE = """
import gc
from types import SimpleNamespace
from maestro.pipeline import LaneRuns
from maestro.process.start import pause_collector
pause_collector()
before = gc.isenabled()
LaneRuns.run_phase(SimpleNamespace(halted={"ABC-1": None}), "claim", "m:f", "ABC-1")
print(before, gc.isenabled(), gc.get_freeze_count() > 0)
"""


def run(code: str) -> str:
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    return proc.stdout.strip()


@pytest.mark.parametrize(("argv", "enabled"), [("", False), ("sys.argv[1:]", True)],
                         ids=["process entry", "called with argv"])
def test_only_a_lane_process_own_entry_pauses_the_collector(argv: str, enabled: bool) -> None:
    out = run(ENTRY.format(argv=argv))
    assert out == f"collector on in the lane: [{enabled}]"


def test_the_first_phase_freezes_the_start_up_and_collects_again() -> None:
    assert run(FIRST_PHASE) == "False True True"


def test_a_collector_this_module_did_not_pause_is_left_alone() -> None:
    frozen = gc.get_freeze_count()
    process_start.startup_over()
    assert gc.isenabled()
    assert gc.get_freeze_count() == frozen


DODO = """
import gc, sys
sys.argv = {sys_argv}
from maestro.pipeline import doit_namespace
try:
    doit_namespace({argv})
except SystemExit:
    pass
print("collector on:", gc.isenabled())
"""


@pytest.mark.parametrize(("sys_argv", "argv", "enabled"), [
    ('["doit", "lane:T-1"]', "", False),
    ('["doit", "lane:T-1", "lane:T-2"]', "", False),
    ('["doit", "list"]', "", True),
    ('["doit", "lane:T-1", "churn"]', "", True),
    ('["doit", "lane:T-1"]', "['lane:T-1']", True),
], ids=["doit's process, one lane", "doit's process, two lanes", "doit list",
        "a user's own task beside a lane", "called with argv"])
def test_only_doits_own_process_running_lanes_alone_pauses_the_collector(
        tmp_path: Path, sys_argv: str, argv: str, enabled: bool) -> None:
    code = DODO.format(sys_argv=sys_argv, argv=argv)
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, check=True,
                          env={**os.environ, "MAESTRO_CONFIG": str(tmp_path / "absent.toml")})
    assert proc.stdout.strip() == f"collector on: {enabled}"
