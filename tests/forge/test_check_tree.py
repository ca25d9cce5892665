"""The local forge's check tree: nothing registered in origin, and dead ones cleaned up."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from forge.conftest import Remote, sh

from maestro.forges import checktree
from maestro.forges.local import LocalForge

ZERO = "0" * 40
HOLD_LOCK = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_CREAT | os.O_RDWR)
fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(600)
"""


def _owned_folder(root: Path, name: str) -> tuple[Path, subprocess.Popen[str]]:
    """A check folder whose owner.lock a real child process holds."""
    folder = root / f"{checktree.PREFIX}{name}"
    folder.mkdir()
    proc = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(folder / checktree.OWNER_FILE)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return folder, proc


def _age(path: Path) -> None:
    old = time.time() - checktree.GRACE_S - 10
    os.utime(path, (old, old))


def test_check_tree_holds_the_head_files_and_registers_nothing_in_origin(remote: Remote) -> None:
    head = remote.commit("app.py", "print(1)\n", "app")
    sh(remote.clone, "push", "--quiet", "origin", "main")
    with checktree.check_tree(remote.origin, head) as tree:
        assert (tree / "app.py").read_text() == "print(1)\n"
        assert not (remote.origin / "worktrees").exists()
        assert sh(remote.origin, "worktree", "list").count("\n") == 0
    assert not tree.parent.exists()


def test_a_folder_whose_owner_was_killed_is_swept(tmp_path: Path) -> None:
    folder, proc = _owned_folder(tmp_path, "killed")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert checktree.sweep_stale(tmp_path) == [folder]
    assert not folder.exists()


def test_a_folder_whose_owner_still_runs_is_kept(tmp_path: Path) -> None:
    folder, proc = _owned_folder(tmp_path, "live")
    try:
        assert checktree.sweep_stale(tmp_path) == []
        assert folder.is_dir()
    finally:
        proc.kill()
        proc.wait()


def _register_check_worktree(remote: Remote, tmp_path: Path, initializing: bool) -> Path:
    """What an older maestro left in origin when killed during (or after) its worktree add."""
    folder = tmp_path / f"{checktree.PREFIX}old"
    folder.mkdir()
    sh(remote.origin, "worktree", "add", "--detach", "--quiet", str(folder / "tree"), "main")
    admin = remote.origin / "worktrees" / "tree"
    if initializing:
        (admin / "HEAD").write_text(ZERO + "\n")
        (admin / "locked").write_text("initializing")
    _age(folder)
    return admin


def test_a_push_heals_origin_broken_by_a_kill_inside_worktree_add(
        remote: Remote, tmp_path: Path) -> None:
    admin = _register_check_worktree(remote, tmp_path, initializing=True)
    remote.commit("b.txt", "b\n", "b")
    refused = subprocess.run(["git", "push", "--quiet", "origin", "HEAD:refs/heads/lane"],
                             cwd=remote.clone, capture_output=True, text=True, check=False)
    assert refused.returncode != 0  # the fault is real: origin refuses every push

    head = LocalForge(remote.clone, "origin").push(remote.clone, "lane")

    assert remote.head("refs/heads/lane") == head
    assert not admin.exists()


def test_a_registered_check_worktree_of_a_dead_process_is_removed(
        remote: Remote, tmp_path: Path) -> None:
    admin = _register_check_worktree(remote, tmp_path, initializing=False)
    assert checktree.heal_origin(remote.origin) == ["tree"]
    assert not admin.exists()
    assert not (tmp_path / f"{checktree.PREFIX}old").exists()


def test_a_worktree_outside_the_checks_folder_is_left_alone(
        remote: Remote, tmp_path: Path) -> None:
    sh(remote.origin, "worktree", "add", "--detach", "--quiet", str(tmp_path / "tree"), "main")
    assert checktree.heal_origin(remote.origin) == []
    assert (remote.origin / "worktrees" / "tree").is_dir()


@pytest.mark.parametrize("locked", ["initializing", "by the operator"])
def test_only_an_old_initializing_entry_without_gitdir_is_removed(
        remote: Remote, locked: str) -> None:
    admin = remote.origin / "worktrees" / "tree"
    admin.mkdir(parents=True)
    (admin / "HEAD").write_text(ZERO + "\n")
    (admin / "locked").write_text(locked)
    _age(admin)
    assert checktree.heal_origin(remote.origin) == (["tree"] if locked == "initializing" else [])
