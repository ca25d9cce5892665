"""Removing and moving paths beneath a folder an agent can write, without leaving it.

maestro cleans up and sets aside files in the lane worktree while the agent's processes
may still run there. A path built as ``worktree / relative`` and handed to ``unlink`` or
``rename`` follows every symbolic link on the way: an agent that swaps a folder for a link
to the repository root between maestro's listing and its removal would have maestro delete
the operator's files (breaker 12, F7), and a name that lost a leading space became an
absolute path (F8). Here each folder on the way is opened relative to the one before with
``O_NOFOLLOW``, and the last step is ``unlinkat``/``renameat``/an fd-based ``rmtree``
relative to the folder that holds it: a link anywhere makes the operation fail instead.

Paths are relative POSIX paths as git names them; a trailing ``/`` names a folder.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
from pathlib import Path, PurePosixPath

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _parts(relative: str) -> tuple[str, ...]:
    parts = PurePosixPath(relative.rstrip("/")).parts
    if not parts or relative.startswith("/") or ".." in parts:
        raise ValueError(f"not a path beneath a folder: {relative!r}")
    return parts


def _open_folder(root: Path, parts: tuple[str, ...], create: bool = False) -> int:
    """An fd of ``root/parts…``, every part opened without following a link (made when
    absent if ``create``), ``root``'s own last step too (a set-aside folder swapped for a
    link: breaker 13). ``OSError`` when one is a link, missing or not a folder."""
    fd = os.open(root, _DIR_FLAGS)
    try:
        for part in parts:
            if create:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o700, dir_fd=fd)
            inner = os.open(part, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = inner
    except BaseException:
        os.close(fd)
        raise
    return fd


def entries_beneath(root: Path) -> list[str]:
    """Every file, link and empty folder under ``root`` (relative; a folder ends in ``/``),
    found without following a link; [] when ``root`` is absent or a link."""
    try:
        fd = os.open(root, _DIR_FLAGS)
    except OSError:
        return []
    found: list[str] = []
    try:
        for top, dirs, files, top_fd in os.fwalk(".", dir_fd=fd, follow_symlinks=False):
            prefix = "" if top == "." else top[2:] + "/"
            links = [d for d in dirs if stat.S_ISLNK(
                os.stat(d, dir_fd=top_fd, follow_symlinks=False).st_mode)]
            found += [prefix + name for name in (*files, *links)]
            if not dirs and not files and prefix:
                found.append(prefix)
    finally:
        os.close(fd)
    return found


def remove_beneath(root: Path, relative: str) -> bool:
    """Remove ``root/relative`` (a file, a link itself, or a folder with all it holds)
    without following a link on the way; False when it could not be (or was gone)."""
    parts = _parts(relative)
    try:
        holder = _open_folder(root, parts[:-1])
    except OSError:
        return False
    try:
        name = parts[-1]
        info = os.stat(name, dir_fd=holder, follow_symlinks=False)
        if stat.S_ISDIR(info.st_mode):
            shutil.rmtree(name, dir_fd=holder)  # fd-based: never follows a link inside
        else:
            os.unlink(name, dir_fd=holder)
        return True
    except OSError:
        return False
    finally:
        os.close(holder)


def move_beneath(source_root: Path, relative: str, target_root: Path) -> bool:
    """Move ``source_root/relative`` to ``target_root/relative`` (the target's folders made
    as needed), following no link on either side and never replacing what is at the
    target. False when it could not be moved: a link on the way, the target taken, or the
    two on different file systems."""
    parts = _parts(relative)
    try:
        source = _open_folder(source_root, parts[:-1])
    except OSError:
        return False
    try:
        target_root.mkdir(mode=0o700, parents=True, exist_ok=True)
        target = _open_folder(target_root, parts[:-1], create=True)
    except OSError:
        os.close(source)
        return False
    name = parts[-1]
    try:
        if _present(name, target):
            return False  # taken: never replaced
        os.rename(name, name, src_dir_fd=source, dst_dir_fd=target)
        return True
    except OSError:  # gone, another file system, or taken meanwhile
        return False
    finally:
        os.close(source)
        os.close(target)


def _present(name: str, folder: int) -> bool:
    """Something (a link included) is at ``name`` in the folder ``folder``."""
    try:
        os.stat(name, dir_fd=folder, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True
