"""The throw-away tree the local forge runs a PR's checks in, and the cleanup of dead ones.

Checks run in the daemon (review refresh) as well as in lanes, and either can be killed
(SIGKILL, OOM) mid-check, when no ``finally`` runs. So the tree is made so that a kill
leaves nothing that matters:

* nothing is registered in ``origin``: the tree is the PR head's files checked out with a
  temporary index (``GIT_INDEX_FILE``) beside it, not ``git worktree add`` (a kill inside
  that left ``origin/worktrees/tree`` with an all-zero HEAD, and from then on every push to
  origin failed with ``bad object worktrees/tree/HEAD``);
* the temporary folder (``<tmp>/maestro-checks.<uid>/maestro-checks-*``: one private
  folder per user, which every lane's sandbox binds read-only, so an agent cannot rewrite
  another lane's check while it runs, :func:`checks_root`) holds an ``owner.lock`` that its process
  keeps ``flock``-ed; the kernel drops the lock when the process dies, so a later check
  run finds folders whose owner is gone (:func:`sweep_stale`) and removes them.

:func:`heal_origin` removes check worktrees an older maestro registered in ``origin`` and
left behind (including one stuck ``locked: initializing``); pushes call it first.
A folder without ``owner.lock`` (made by an older maestro, or in the instant between
creating and locking it) counts as dead once older than :data:`GRACE_S`.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from maestro.containment.private_tmp import CHECKS, private_folder
from maestro.errors import ForgeError
from maestro.git import git_env

PREFIX = "maestro-checks-"
OWNER_FILE = "owner.lock"
GRACE_S = 60.0
# git names a worktree's admin folder after the checkout's basename ("tree", "tree1", ...)
_ADMIN_NAME = re.compile(r"tree\d*")


def checks_root() -> Path:
    """The folder check folders are made in (created 0700 when absent); ``ForgeError`` when
    it is not this user's private folder (a symbolic link, another user's folder)."""
    try:
        return private_folder(CHECKS)
    except PermissionError as exc:
        raise ForgeError(f"{exc} (the local forge's checks)") from None


@contextmanager
def check_tree(origin: Path, head: str) -> Iterator[Path]:
    """Yield a fresh folder holding ``head``'s files (from bare ``origin``); removed after.

    Raises :class:`ForgeError` naming ``head`` when git cannot check it out."""
    root = checks_root()
    sweep_stale(root)
    tmp = Path(tempfile.mkdtemp(prefix=PREFIX, dir=root))
    owner = os.open(tmp / OWNER_FILE, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(owner, fcntl.LOCK_EX)
        tree = tmp / "tree"
        tree.mkdir()
        materialise(origin, head, tree, index=tmp / "index")
        yield tree
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        os.close(owner)


def materialise(origin: Path, head: str, dest: Path, index: Path) -> None:
    """Check ``head``'s tree out into ``dest`` through the index file ``index``.

    ``origin``'s own files (index, worktrees, HEAD) are never written; the hardened git
    environment keeps hooks and filter programs off."""
    env = {**git_env(origin), "GIT_INDEX_FILE": str(index)}
    for args in (["read-tree", head], [f"--work-tree={dest}", "checkout-index", "-a", "-f"]):
        proc = subprocess.run(["git", *args], cwd=origin, env=env, capture_output=True,
                              text=True, errors="replace", check=False)
        if proc.returncode != 0:
            raise ForgeError(f"{origin}: cannot check out {head} for checks "
                             f"(git {' '.join(args)}): {proc.stderr.strip()}")


def owner_alive(folder: Path) -> bool:
    """Whether a live process still owns the check folder ``folder``.

    The owner holds ``owner.lock`` flock-ed; if we can take the lock, the owner is gone.
    No lock file: alive only while the folder is younger than :data:`GRACE_S`."""
    try:
        fd = os.open(folder / OWNER_FILE, os.O_RDWR)
    except FileNotFoundError:
        return _younger_than_grace(folder)
    except OSError:
        return True  # cannot tell: leave it alone
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops the lock if we took it
    return False


def _younger_than_grace(path: Path) -> bool:
    try:
        return time.time() - path.stat().st_mtime < GRACE_S
    except OSError:
        return False


def sweep_stale(root: Path | None = None) -> list[Path]:
    """Remove the ``maestro-checks-*`` folders under ``root`` (:func:`checks_root`) whose
    owner is dead; return them."""
    root = checks_root() if root is None else root
    removed = []
    try:
        candidates = sorted(p for p in root.iterdir() if p.name.startswith(PREFIX))
    except OSError:
        return []
    for folder in candidates:
        if folder.is_dir() and not folder.is_symlink() and not owner_alive(folder):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def heal_origin(origin: Path) -> list[str]:
    """Remove check worktrees registered in ``origin`` by a dead process; return their names.

    One is ``worktrees/tree*`` whose ``gitdir`` lies in a ``maestro-checks-*`` folder with no
    live owner, or (killed inside ``git worktree add``) one with no ``gitdir`` that is still
    ``locked: initializing`` and older than :data:`GRACE_S`. Its temp folder goes too."""
    admin_root = origin / "worktrees"
    if not admin_root.is_dir():
        return []
    healed = []
    for admin in sorted(admin_root.iterdir()):
        if not _ADMIN_NAME.fullmatch(admin.name) or not admin.is_dir():
            continue
        folder = _check_folder(admin)
        if folder is not None and not owner_alive(folder):
            shutil.rmtree(folder, ignore_errors=True)
        elif folder is not None or not _stuck_initializing(admin):
            continue
        shutil.rmtree(admin, ignore_errors=True)
        healed.append(admin.name)
    return healed


def _check_folder(admin: Path) -> Path | None:
    """The ``maestro-checks-*`` folder the worktree ``admin`` points into, if it does."""
    try:
        gitdir = Path((admin / "gitdir").read_text(encoding="utf-8").strip())
    except (OSError, UnicodeDecodeError):
        return None
    folder = gitdir.parent.parent  # <tmp>/maestro-checks-XXXX/tree/.git
    return folder if folder.name.startswith(PREFIX) else None


def _stuck_initializing(admin: Path) -> bool:
    if (admin / "gitdir").exists():
        return False
    try:
        locked = (admin / "locked").read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return False
    return locked == "initializing" and not _younger_than_grace(admin)
