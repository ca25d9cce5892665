"""No program maestro starts by name is found in a folder of the worktree it runs in.

An empty or relative ``PATH`` entry (``PATH=:/usr/bin``, ``./node_modules/.bin:$PATH``)
names a folder relative to the child's working directory, and maestro runs git, hooks,
validation and the agent inside lane worktrees, which the agent writes. Each test plants an
executable there, shows that a plain lookup from that folder runs it (so the plant is
live), then runs the same thing through maestro and finds that it did not run.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

from maestro.containment.childenv import child_env
from maestro.containment.exec_path import absolute_path, find_program, maestros_path
from maestro.containment.gitguard import base_env
from maestro.git import git
from tests.gitrepo import small_repo

from .traps import make_trap, runs


def plant(folder: Path, name: str, trap: Path) -> None:
    """An executable ``folder/name`` that runs the trap."""
    folder.mkdir(parents=True, exist_ok=True)
    program = folder / name
    program.write_text(f"#!/bin/sh\nexec {trap} \"$@\"\n")
    program.chmod(program.stat().st_mode | stat.S_IXUSR)


@pytest.mark.parametrize(("path", "kept"), [
    (":/usr/bin:/bin", "/usr/bin:/bin"),
    ("/usr/bin::/bin:", "/usr/bin:/bin"),
    ("./node_modules/.bin:/usr/bin", "/usr/bin"),
    ("bin:.:/opt/tools/bin", "/opt/tools/bin"),
    ("/usr/local/bin:/usr/bin", "/usr/local/bin:/usr/bin"),
    ("", ""),
])
def test_absolute_path_keeps_only_absolute_entries_in_order(path: str, kept: str) -> None:
    assert absolute_path(path) == kept


def test_absolute_path_of_no_path_is_the_systems_default_cut_the_same_way() -> None:
    assert absolute_path(None) == absolute_path(os.defpath)
    assert all(os.path.isabs(entry) for entry in absolute_path(None).split(os.pathsep))


def test_a_git_planted_in_the_worktree_does_not_run_for_maestros_git(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = small_repo(tmp_path, monkeypatch)
    trap, log = make_trap(tmp_path / "trap")
    plant(repo, "git", trap)
    path = ":" + os.environ["PATH"]  # an empty entry: the working directory
    plain = subprocess.run(["git", "--version"], cwd=repo, env={**os.environ, "PATH": path},
                           capture_output=True, check=False)
    assert plain.returncode == 0 and len(runs(log)) == 1
    monkeypatch.setenv("PATH", path)
    assert len(git(repo, "rev-parse", "HEAD")) == 40
    assert len(runs(log)) == 1


def test_a_git_planted_under_a_relative_path_entry_does_not_run_for_maestros_git(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = small_repo(tmp_path, monkeypatch)
    trap, log = make_trap(tmp_path / "trap")
    plant(repo / "node_modules" / ".bin", "git", trap)
    monkeypatch.setenv("PATH", "./node_modules/.bin:" + os.environ["PATH"])
    git(repo, "status", "--porcelain")
    assert runs(log) == []


def test_maestros_git_environment_and_childrens_hold_no_relative_path_entry(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "bin::./node_modules/.bin:/usr/bin:.")
    assert base_env()["PATH"] == "/usr/bin"
    assert child_env()["PATH"] == "/usr/bin"


def test_a_hook_command_does_not_run_a_program_planted_in_the_worktree(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    worktree = tmp_path / "worktree"
    trap, log = make_trap(tmp_path / "trap")
    plant(worktree / "bin", "tool", trap)
    monkeypatch.setenv("PATH", "bin:" + os.environ["PATH"])
    plain = subprocess.run(["sh", "-c", "tool"], cwd=worktree, capture_output=True,
                           check=False)
    assert plain.returncode == 0 and len(runs(log)) == 1
    guarded = subprocess.run(["sh", "-c", "tool"], cwd=worktree, env=child_env(),
                             capture_output=True, check=False)
    assert guarded.returncode != 0 and len(runs(log)) == 1


def test_find_program_skips_a_relative_entry_even_when_it_holds_the_program(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    trap, _ = make_trap(tmp_path / "trap")
    plant(tmp_path / "bin", "sh", trap)
    monkeypatch.chdir(tmp_path)
    assert find_program("sh", "bin:/usr/bin:/bin") in ("/usr/bin/sh", "/bin/sh")


def test_a_git_planted_in_a_path_folder_of_the_home_does_not_run_for_maestros_git(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``~/.local/bin`` (or ``~/.cargo/bin``, pyenv shims) comes before ``/usr/bin`` on
    many machines, and the sandbox keeps the home writable: a ``git`` the agent put there
    must never be maestro's."""
    repo = small_repo(tmp_path, monkeypatch)
    home = tmp_path / "home"
    trap, log = make_trap(tmp_path / "trap")
    plant(home / ".local" / "bin", "git", trap)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("PATH", f"{home / '.local' / 'bin'}:" + os.environ["PATH"])
    assert len(git(repo, "rev-parse", "HEAD")) == 40
    assert runs(log) == []
    assert str(home) not in base_env()["PATH"]


@pytest.mark.parametrize(("entry", "kept"), [
    ("{home}/.local/bin", False),
    ("{home}", False),
    ("{tmp}/tools", False),
    ("/usr/bin", True),
    ("{home}-other/bin", True),  # a sibling of the home is not inside it
])
def test_maestros_path_leaves_out_folders_an_agent_can_write(
        monkeypatch: pytest.MonkeyPatch, entry: str, kept: bool) -> None:
    home = "/srv/maestro-test-home"  # need not exist: only names are compared
    monkeypatch.setenv("HOME", home)
    folder = entry.format(home=home, tmp=tempfile.gettempdir())
    assert (folder in maestros_path(f"{folder}:/bin").split(":")) is kept


def test_a_home_entry_that_links_out_of_the_home_is_left_out_too(
        monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    """``~/.nix-profile/bin`` may point at ``/nix/store`` today, but the link lives in the
    home, where the agent can point it at a folder of its own."""
    home = Path(__file__).resolve().parent / f".home-{os.getpid()}"  # outside /tmp
    home.mkdir()
    request.addfinalizer(lambda: shutil.rmtree(home, ignore_errors=True))
    (home / ".nix-profile").symlink_to("/usr")
    monkeypatch.setenv("HOME", str(home))
    assert maestros_path(f"{home}/.nix-profile/bin:/bin") == "/bin"
