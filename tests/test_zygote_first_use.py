"""The zygote does the libraries' first-use work of a lane's workflow parse and prompt
render before it forks, on maestro's own text, touching no file."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
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


@pytest.fixture
def forgetful() -> Iterator[None]:
    from maestro.containment import config_listing

    config_listing.forget()
    yield
    config_listing.forget()


def test_knowing_the_repository_answers_a_lanes_first_config_listing_without_git(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forgetful: None) -> None:
    from maestro.containment import config_listing, gitguard
    from maestro.orchestration.warm import first_use

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    first_use.know_repository(tmp_path)
    assert gitguard.operator_identity.cache_info().currsize == 0  # the lane reads its own

    def no_git(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"a git process: {args}")

    monkeypatch.setattr(subprocess, "run", no_git)
    env = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null"}
    assert "core.bare" in config_listing.config_keys(tmp_path, env)


def test_a_config_changed_after_the_zygote_asked_is_listed_again(
        tmp_path: Path, forgetful: None) -> None:
    from maestro.containment import gitguard
    from maestro.orchestration.warm import first_use

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    first_use.know_repository(tmp_path)
    subprocess.run(["git", "config", "filter.evil.clean", "touch /tmp/owned"], cwd=tmp_path,
                   check=True)
    assert "filter.evil.clean" in gitguard.config_keys(tmp_path)
