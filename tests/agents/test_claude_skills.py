"""The real Claude Code reads the skills ``maestro assets install --agent claude`` put in its
home, offline against the loopback model server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .fake_anthropic import FakeAnthropic, serve, text

pytestmark = [pytest.mark.slow]


def test_real_claude_offers_the_model_the_installed_maestro_skills(
        claude: Path, tmp_path: Path) -> None:
    home = tmp_path / "claude-home"
    subprocess.run([sys.executable, "-m", "maestro", "assets", "install", "--agent", "claude",
                    "--claude-home", str(home)], check=True, capture_output=True)
    model = FakeAnthropic([text("done")])
    with serve(model):
        proc = subprocess.run(
            [str(claude), "-p", "say done", "--output-format", "json"], cwd=tmp_path,
            env={**os.environ, "ANTHROPIC_BASE_URL": model.base_url,
                 "ANTHROPIC_API_KEY": "sk-test", "CLAUDE_CONFIG_DIR": str(home),
                 "CLAUDE_CODE_MAX_RETRIES": "0", "DISABLE_AUTOUPDATER": "1",
                 "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1"},
            capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert model.requests, "claude never asked the model"
    seen = json.dumps(model.requests[0])
    for name in ("maestro-lane", "review-repair"):
        assert name in seen, name
