"""The tamper check's config entries: a function of the file's bytes, asked of git once per
distinct content in a process, and a changed byte is always a new answer."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from maestro.lanes.confinement import tamper

CONFIG = '[core]\n\tbare = false\n[branch "main"]\n\tremote = origin\n[filter "lfs"]\n\tclean = x\n'


@pytest.fixture
def git_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[list[str]]]:
    """Every ``git config --file`` process started (still run for real), with an empty
    memo."""
    calls: list[list[str]] = []
    real = subprocess.run

    def counting(argv: list[str], *args: Any, **kwargs: Any) -> Any:
        if "--file" in argv:
            calls.append(list(argv))
        return real(argv, *args, **kwargs)

    monkeypatch.setattr(subprocess, "run", counting)
    monkeypatch.setattr(tamper, "_ENTRIES", {})
    yield calls


def test_the_same_bytes_are_parsed_by_git_once(tmp_path: Path,
                                               git_calls: list[list[str]]) -> None:
    path = tmp_path / "config"
    path.write_text(CONFIG)
    first = tamper.config_entries(path)
    assert tamper.config_entries(path) == first
    assert len(git_calls) == 1


def test_a_same_size_rewrite_with_the_same_times_is_a_new_answer(
        tmp_path: Path, git_calls: list[list[str]]) -> None:
    path = tmp_path / "config"
    path.write_text(CONFIG)
    before = tamper.config_entries(path)
    info = path.stat()
    path.write_text(CONFIG.replace("clean = x", "clean = y"))
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))
    after = tamper.config_entries(path)
    assert after != before and after is not None and b"filter.lfs.clean\ny" in after
    assert len(git_calls) == 2


def test_the_entries_are_those_git_lists_for_the_file(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text(CONFIG)
    listed = subprocess.run(["git", "config", "--file", str(path), "--no-includes", "--null",
                             "--list"], capture_output=True, check=True).stdout
    expected = sorted(e for e in listed.split(b"\0") if e and not e.startswith(b"branch."))
    assert tamper.config_entries(path) == b"\0".join(expected)


def test_a_config_git_cannot_parse_has_no_entries(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text("[core\n\tbare = \n")
    assert tamper.config_entries(path) is None
    assert tamper.config_entries(tmp_path / "missing") is None
