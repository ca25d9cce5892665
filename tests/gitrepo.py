"""A small real repository for tests of maestro's own git helpers (plain git, no maestro)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest


def sh(cwd: Path, *args: str) -> str:
    """``git *args`` in ``cwd``; its stripped output (raises on failure)."""
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                          check=True).stdout.strip()


def small_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
               commits: tuple[str, ...] = ("a",)) -> Path:
    """``tmp_path/repo`` on ``main`` with one commit per name, each adding ``<name>.txt``."""
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "t")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "t@example.invalid")
    work = tmp_path / "repo"
    sh(tmp_path, "init", "--quiet", "--initial-branch=main", str(work))
    for name in commits:
        (work / f"{name}.txt").write_text(f"{name}\n")
        sh(work, "add", "-A")
        sh(work, "commit", "--quiet", "-m", name)
    return work
