"""The loop's lane processes never import code from the repository root (their working
directory, writable by the agent without the sandbox) in maestro's place."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import Sandbox

pytestmark = pytest.mark.slow


def test_a_maestro_package_planted_in_the_repository_root_is_not_what_lanes_run(
        sandbox: Sandbox) -> None:
    planted = sandbox.repo / "maestro"
    planted.mkdir()
    marker = sandbox.root / "planted-code-ran"
    (planted / "__init__.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    (planted / "__main__.py").write_text("")
    sandbox.add_issue("LI-1")
    # The operator's own command runs as the console script would (no working directory on
    # sys.path); the lane processes it starts are what is under test.
    subprocess.run([sys.executable, "-P", "-m", "maestro", "run", "--once"], cwd=sandbox.repo,
                   check=True, capture_output=True, timeout=300)
    assert not marker.exists()
    assert sandbox.outcome("LI-1") == "waiting"
