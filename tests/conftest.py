"""Shared fixtures: sandbox repositories on real git with a bare origin and files issues."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from maestro.config.service import ServiceConfig, parse_config_file
from maestro.fsutil import read_json
from maestro.scaffold.demo import build_sandbox
from maestro.trackers.files import FilesTracker

REPO_ROOT = Path(__file__).resolve().parents[1]


def remove_live_folder(folder: Path) -> None:
    """``rm -rf`` of a folder a running process may be writing into (an atomic write's
    temporary file can appear while the tree is removed): tried again until it is gone."""
    for _ in range(50):
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            return
        time.sleep(0.02)
    raise AssertionError(f"{folder} could not be removed")


def copy_live_folder(folder: Path, dest: Path) -> None:
    """A backup of a folder a running process may be writing into (a file can vanish
    while it is copied), without its ``lane.lock``: tried again until a copy is whole."""
    for _ in range(50):
        shutil.rmtree(dest, ignore_errors=True)
        try:
            shutil.copytree(folder, dest, ignore=shutil.ignore_patterns("lane.lock"))
            return
        except (shutil.Error, FileNotFoundError):
            time.sleep(0.02)
    raise AssertionError(f"{folder} could not be copied")


class Sandbox:
    """A repository made by ``maestro demo``'s builder, with helpers to drive lanes."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.repo, self.origin = build_sandbox(root)
        self.tracker = FilesTracker(self.repo / "issues", "DEMO")

    @property
    def config(self) -> ServiceConfig:
        return parse_config_file(self.repo / "maestro.toml")

    def add_issue(self, identifier: str, script: str | None = None, **fields: Any) -> None:
        body = fields.pop("description", f"Work on {identifier}.")
        if script is not None:
            body += "\n\n```maestro-script\n" + textwrap.dedent(script).strip() + "\n```\n"
        self.tracker.create(fields.pop("title", f"Task {identifier}"), body,
                            identifier=identifier, **fields)

    def set_workflow(self, **replacements: str) -> None:
        path = self.repo / "WORKFLOW.md"
        text = path.read_text()
        for old, new in replacements.items():
            assert old in text or old.replace("_", " ") in text, old
            text = text.replace(old, new)
        path.write_text(text)

    def edit_workflow(self, old: str, new: str) -> None:
        path = self.repo / "WORKFLOW.md"
        text = path.read_text()
        assert old in text, f"{old!r} not in WORKFLOW.md"
        path.write_text(text.replace(old, new))

    def set_agent(self, **keys: Any) -> None:
        path = self.repo / "maestro.toml"
        lines = [f"{key} = {value!r}".replace("'", '"') if isinstance(value, str)
                 else f"{key} = {value}" for key, value in keys.items()]
        path.write_text(path.read_text() + "\n".join(lines) + "\n")

    def maestro(self, *args: str, check: bool = False, timeout: float = 120,
                env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([sys.executable, "-m", "maestro", *args], cwd=self.repo,
                              capture_output=True, text=True, errors="replace", timeout=timeout,
                              env={**os.environ, **(env or {})})
        if check and proc.returncode != 0:
            raise AssertionError(f"maestro {' '.join(args)} exited {proc.returncode}:\n"
                                 f"{proc.stdout}\n{proc.stderr}")
        return proc

    def lane(self, identifier: str, **kw: Any) -> subprocess.CompletedProcess[str]:
        return self.maestro("lane", identifier, "--quiet", **kw)

    def lane_file(self, identifier: str, name: str) -> Any:
        return read_json(self.repo / ".maestro" / "lanes" / identifier / name)

    def tool_answers(self, identifier: str, tool: str) -> list[dict[str, Any]]:
        """The lane journal's records of the agent's calls to ``tool``, oldest first."""
        path = self.repo / ".maestro" / "lanes" / identifier / "journal.jsonl"
        events = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        return [e for e in events if e.get("event") == "tool" and e.get("tool") == tool]

    def outcome(self, identifier: str) -> str:
        return str((self.lane_file(identifier, "outcome.json") or {}).get("outcome"))

    def issue(self, identifier: str) -> Any:
        return self.tracker.get(identifier)

    def comments(self, identifier: str) -> list[Any]:
        return self.tracker.comments(identifier)

    def origin_log(self) -> list[str]:
        out = subprocess.run(["git", "log", "--format=%s", "main"], cwd=self.origin,
                             capture_output=True, text=True, check=True).stdout
        return out.splitlines()

    def origin_file(self, path: str, ref: str = "main") -> str | None:
        proc = subprocess.run(["git", "show", f"{ref}:{path}"], cwd=self.origin,
                              capture_output=True, text=True, check=False)
        return proc.stdout if proc.returncode == 0 else None

    def approve(self, identifier: str) -> None:
        self.maestro("review", "approve", identifier, check=True)


@pytest.fixture
def sandbox(tmp_path: Path) -> Sandbox:
    """A fresh sandbox repository; its demo issues are removed so each test adds its own."""
    box = Sandbox(tmp_path / "sandbox")
    for path in (box.repo / "issues").glob("DEMO-*.md"):
        path.unlink()
    return box


@pytest.fixture
def demo_sandbox(tmp_path: Path) -> Sandbox:
    return Sandbox(tmp_path / "sandbox")


def run_until(predicate: Callable[[], bool], step: Callable[[], Any], limit: int = 10) -> None:
    for _ in range(limit):
        if predicate():
            return
        step()
    assert predicate(), "condition never held"
