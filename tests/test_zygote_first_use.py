"""The zygote does the libraries' first-use work of a lane's workflow parse and prompt
render before it forks, on maestro's own text, touching no file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = """
import json, os
from liquid.lex import get_lexer
from maestro.orchestration.warm import zygote
before = get_lexer.cache_info().currsize
zygote._build_ahead()
print(json.dumps({"before": before, "after": get_lexer.cache_info().currsize,
                  "files": sorted(os.listdir("."))}))
"""


def test_building_ahead_compiles_liquids_lexer_and_writes_nothing(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-c", PROBE], cwd=tmp_path, capture_output=True,
                          text=True, check=True)
    seen = json.loads(proc.stdout)
    assert seen == {"before": 0, "after": 1, "files": []}


def test_a_failing_warm_up_is_only_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    import maestro.config.workflow as workflow
    from maestro.orchestration.warm import first_use

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(workflow, "parse_workflow", broken)
    first_use.warm()  # no exception: the lane does the work itself then
