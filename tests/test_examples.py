"""The shipped examples stay valid and complete."""

from __future__ import annotations

import tomllib
from pathlib import Path

from maestro.config.service import ServiceConfig, parse_config_file
from maestro.config.workflow import load_workflow
from tests.conftest import REPO_ROOT, Sandbox


def test_example_config_parses() -> None:
    parse_config_file(REPO_ROOT / "maestro.example.toml")


def test_example_config_shows_every_key() -> None:
    data = tomllib.loads((REPO_ROOT / "maestro.example.toml").read_text())
    for name, field in ServiceConfig.model_fields.items():
        if name == "source" or field.exclude:  # maestro's own records, not settings
            continue
        assert name in data, f"maestro.example.toml lacks {name}"
        annotation = field.annotation
        if isinstance(annotation, type) and hasattr(annotation, "model_fields"):
            missing = set(annotation.model_fields) - set(data[name])
            commented = (REPO_ROOT / "maestro.example.toml").read_text()
            assert all(f"# {key}" in commented for key in missing), (name, missing)


def test_the_repository_workflow_parses() -> None:
    load_workflow(REPO_ROOT / "WORKFLOW.md")


def test_lane_reset_archives_local_state(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.add_issue("EX-1")
    sandbox.lane("EX-1")
    proc = sandbox.maestro("lane", "EX-1", "--reset", check=True)
    assert "archived" in proc.stdout
    lane = sandbox.repo / ".maestro" / "lanes" / "EX-1"
    assert not (lane / "lease.json").exists()
    archived = list((sandbox.repo / ".maestro" / "archive").glob("EX-1-*/pr.json"))
    assert len(archived) == 1
