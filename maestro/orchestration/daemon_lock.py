"""One poll loop per repository: OS locks on ``<state_root>/daemon.lock`` and on
``<git common dir>/maestro-daemon.lock``.

Two daemons (or a daemon and a ``maestro run --once``) over the same repository would both
plan the same tick and dispatch the same issues. The state root's lock stops two loops over
one state root; the lock in the repository's common git dir (shared by every linked
worktree and every config that names the repository, whatever its ``state_root``) stops two
configs with different state roots. Each is a kernel file lock, so it is released when its
holder dies, however it dies; a holder file beside each (``daemon.json``,
``maestro-daemon.json``) names the holder (pid, host, command, since, state root) so the
refusal can say who holds it. Read-only commands (``run --once --dry-run``, ``plan``,
``status``) take no lock.

The common git dir is writable by an agent without the bubblewrap sandbox (with it, only
the objects and the lane's own ref and worktree files are): the lock there keeps honest
operators from running two loops, it is not a defence against such an agent, which could at
most make a daemon refuse to start while its own session
runs, or remove the lock file so that a second loop starts (the provenance check then stops
the lanes for a person).
A lock that cannot be opened (permissions, a folder or a symbolic link loop in its place)
is a one-line error naming it.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock, Timeout

from maestro.errors import DaemonRunningError, WorkspaceError
from maestro.fsutil import read_json, write_json
from maestro.ids import iso_now

__all__ = ["HOLDER_FILE", "LOCK_FILE", "REPOSITORY_HOLDER_FILE", "REPOSITORY_LOCK_FILE",
           "holding_loop_lock"]

LOCK_FILE = "daemon.lock"
HOLDER_FILE = "daemon.json"
REPOSITORY_LOCK_FILE = "maestro-daemon.lock"
REPOSITORY_HOLDER_FILE = "maestro-daemon.json"


def _holder(holder_file: Path) -> str:
    try:
        data = read_json(holder_file)
    except ValueError:
        data = None
    if not isinstance(data, dict) or not data.get("pid"):
        return "another process"
    where = f", state root {data['state_root']}" if data.get("state_root") else ""
    return (f"pid {data.get('pid')} on {data.get('host', '?')} "
            f"({data.get('command', 'maestro')}, since {data.get('since', '?')}{where})")


@contextlib.contextmanager
def _holding(folder: Path, lock_name: str, holder_name: str, command: str,
             state_root: Path) -> Iterator[None]:
    lock_path = folder / lock_name
    try:
        folder.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(lock_path), timeout=0)
        lock.acquire()
    except Timeout:
        raise DaemonRunningError(
            f"{lock_path}: a maestro poll loop already runs for this repository "
            f"({_holder(folder / holder_name)}); stop it first, or use "
            "`maestro run --once --dry-run` to see its plan") from None
    except OSError as exc:
        raise WorkspaceError(f"{lock_path}: cannot take the poll-loop lock "
                             f"({exc.strerror or exc}); expected a regular file this user "
                             "can open for writing") from None
    me = os.getpid()
    try:
        with contextlib.suppress(OSError):  # the lock holds without its description
            write_json(folder / holder_name, {"pid": me, "host": socket.gethostname(),
                                              "command": command, "since": iso_now(),
                                              "state_root": str(state_root)})
        yield
    finally:
        _forget_holder(folder / holder_name, me)
        lock.release()


def _forget_holder(holder_file: Path, pid: int) -> None:
    """Remove the holder file if it still describes ``pid``: a later holder's (its lock
    file was removed and made anew) is left alone."""
    try:
        data = read_json(holder_file)
    except (ValueError, OSError):
        return
    if isinstance(data, dict) and data.get("pid") == pid:
        with contextlib.suppress(OSError):
            holder_file.unlink()


def _common_git_dir(repository: Path) -> Path | None:
    from maestro.git.dirs import git_dirs

    found = git_dirs(repository)
    return found.common if found is not None else None


@contextlib.contextmanager
def holding_loop_lock(state_root: Path, command: str,
                      repository: Path | None = None) -> Iterator[None]:
    """Hold the poll-loop locks of ``state_root`` and, when given and a git repository, of
    ``repository`` for the ``with`` block.

    Raises :class:`DaemonRunningError` (exit 3) naming the holder's pid when another live
    process holds either."""
    with _holding(state_root, LOCK_FILE, HOLDER_FILE, command, state_root):
        common = _common_git_dir(repository) if repository is not None else None
        if common is None:
            yield
            return
        with _holding(common, REPOSITORY_LOCK_FILE, REPOSITORY_HOLDER_FILE, command,
                      state_root):
            yield
