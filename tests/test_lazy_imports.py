"""Each lane path imports only what it uses: a fresh interpreter imports a path's modules
and reports which heavy packages came along (docs/performance.md, "Lane CPU: cold start-up").

A lane process is started cold by ``maestro lane ID``, ``maestro run --once``, ``doit
lane:ID`` or a person; every package imported there is paid again by every lane. These
tests fail when a module-level import pulls a package into a path that does not use it.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

PROBE = """
import json, sys
for name in sys.argv[2:]:
    __import__(name)
if sys.argv[1] == "parser":
    import maestro.cli
    maestro.cli.build_parser()
print(json.dumps(sorted(sys.modules)))
"""

#: What the embedded defaults' land half (review wait to cleanup) imports: the CLI, the
#: config, the pipeline and doit's runner, the lane context, the review phases, the files
#: tracker and the local forge.
LAND_HALF = ["maestro.cli", "maestro.lanes.noop", "maestro.config.discovery",
             "maestro.pipeline", "maestro.pipeline.doit_run", "maestro.pipeline.spec",
             "maestro.lanes.context", "maestro.lanes.review", "maestro.lanes.outcomes",
             "maestro.trackers.files", "maestro.forges.local"]

#: Packages no land run uses: the prompt's template engine (and the date and locale
#: packages it pulls), the agent's JSON-RPC client and its event loop, the HTTP clients of
#: the network trackers and forges, the text views of ``maestro status``.
NOT_IN_LAND_HALF = ["liquid", "babel", "asyncio", "maestro.agents.appserver",
                    "maestro.lanes.sessions.agent_run", "httpx", "maestro.trackers.linear",
                    "maestro.trackers.github", "maestro.forges.github", "rich"]

CASES = [
    # the entry: every command builds the parser; none of these is needed for that
    ("parser", ["maestro.cli"],
     ["pydantic", "doit", "ruamel", "filelock", "liquid", "asyncio", "httpx", "rich"]),
    # `maestro lane ID` on a finished lane is answered from its stamp (lanes/noop.py)
    ("", ["maestro.cli", "maestro.lanes.noop", "maestro.pipeline"],
     ["pydantic", "doit", "ruamel", "filelock", "liquid", "asyncio", "httpx"]),
    ("", LAND_HALF, NOT_IN_LAND_HALF),
]


def imported(mode: str, modules: list[str]) -> set[str]:
    proc = subprocess.run([sys.executable, "-c", PROBE, mode, *modules], capture_output=True,
                          text=True, timeout=120, check=True)
    return set(json.loads(proc.stdout))


@pytest.mark.parametrize(("mode", "modules", "absent"), CASES,
                         ids=["cli parser", "finished lane answer", "land half"])
def test_a_lane_path_does_not_import_what_it_does_not_use(
        mode: str, modules: list[str], absent: list[str]) -> None:
    loaded = imported(mode, modules)
    assert set(modules) <= loaded
    assert sorted(name for name in absent if name in loaded) == []
