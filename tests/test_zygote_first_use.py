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


RESOLVER_PROBE = """
import json
from ruamel.yaml.resolver import implicit_resolvers
from maestro.orchestration.warm import zygote
def compiled():  # ruamel.yaml's LazyEval swaps its builder for a lambda once evaluated
    return sorted(tag.rpartition(":")[2] for _, tag, pattern, _ in implicit_resolvers
                  if object.__getattribute__(pattern, "lazy_self").__name__ == "<lambda>")
before = compiled()
zygote._build_ahead()
print(json.dumps([before, compiled()]))
"""


def test_building_ahead_compiles_the_yaml_patterns_a_tracker_write_needs(
        tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-c", RESOLVER_PROBE], cwd=tmp_path,
                          capture_output=True, text=True, check=True)
    before, after = json.loads(proc.stdout)
    assert "timestamp" not in before
    assert "timestamp" in after  # a comment's ``at`` is quoted because it would resolve so
    assert list(tmp_path.iterdir()) == []


def test_a_lane_loads_the_pipeline_compiled_ahead_without_reading_yaml(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from maestro.pipeline import spec
    from maestro.pipeline.files import default_pipeline_path

    monkeypatch.setattr(spec, "_COMPILED", {})
    spec.compile_ahead(default_pipeline_path())
    expected = spec._compile(default_pipeline_path())

    def no_yaml(path: Path) -> spec.PipelineSpec:
        raise AssertionError(f"compiled again: {path}")

    monkeypatch.setattr(spec, "_compile", no_yaml)
    assert spec.load_pipeline.__wrapped__(default_pipeline_path()) == expected


def test_a_pipeline_changed_after_it_was_compiled_ahead_is_compiled_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from maestro.pipeline import spec
    from maestro.pipeline.files import default_pipeline_path

    monkeypatch.setattr(spec, "_COMPILED", {})
    copy = tmp_path / "lane.yaml"
    copy.write_text(default_pipeline_path().read_text())
    spec.compile_ahead(copy)
    copy.write_text(copy.read_text().replace("\npipeline: ", "\npipeline: changed-", 1))
    assert spec.load_pipeline.__wrapped__(copy).pipeline.startswith("changed-")
