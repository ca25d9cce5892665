"""The config key names git sees in a folder, listed once per process while nothing changes.

:func:`maestro.containment.gitguard.git_env` must know every ``filter.*``, ``diff.*`` and
``merge.*`` driver the repository's config names, and the agent can add one at any time. A
lane makes dozens of git calls, and listing the config before each one was a quarter of all
the processes ``maestro demo`` started. This module keeps the listing and reuses it only while
the exact bytes of every file git read it from are unchanged.

Why a reuse is safe:

* With system and global config off (``GIT_CONFIG_NOSYSTEM``, ``GIT_CONFIG_GLOBAL``) and no
  ``GIT_DIR``-like variables in maestro's git environment, git reads a folder's config from a
  fixed set of files: the folder's ``.git`` (a directory, or a file naming the git dir), the
  git dir's ``commondir``, ``config`` and ``config.worktree`` of the git dir and of the common
  dir. :func:`config_sources` names that set from the folder alone, without running git.
* The fingerprint is the *content* of each of those files (or its absence), read before
  git lists the config, and what is kept are the key names *of those very bytes* (handed
  to ``git config --file -``), never of what git read a moment later: a file switched
  A -> B -> A around the listing cannot pair A's fingerprint with B's keys, and any later
  change shows in the next fingerprint. Timestamps are not used (a same-size rewrite within
  one clock tick would keep them).
* A listing is kept only when every file git reports as an origin is in that set, and no key
  is an ``include``/``includeIf``: includes name files outside the set (and ``onbranch:``
  ones depend on HEAD), so a config with includes is listed before every call, as before.
* A folder with no ``.git`` of its own that is not a bare git dir (git would search its
  parents), or whose ``.git`` is a symlink, is never cached.

A linked worktree may borrow a listing kept for another folder (:func:`_borrowed`; a
lane's new worktree borrows the repository root's, saving the two git processes of its
first listing): only when its ``.git`` is a file and every config file among its sources
that exists is, by real path, a config file of the kept fingerprint with the very same
bytes, read now. The keys git would list there are then names in those bytes, all of
which the kept keys hold (a ``config.worktree`` of the other folder adds names, and a
needless override disarms nothing that runs); a config with includes is never kept, so
never borrowed; and any byte changed since, an ``extensions.worktreeConfig`` turned on
(a change of the shared config) or a ``config.worktree`` planted in the worktree's own
git dir (a file the kept fingerprint lacks) makes git list the folder as before.
"""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path

from maestro.containment.exec_path import find_program
from maestro.errors import WorkspaceError

#: ``(path, content or None when absent)`` for each source file, in a fixed order.
Fingerprint = tuple[tuple[str, bytes | None], ...]

#: Folder → (fingerprint, key names). One process's memory; never written to disk.
_LISTINGS: dict[str, tuple[Fingerprint, tuple[str, ...]]] = {}

#: Key prefixes that pull in files outside the fixed set (compared lower-cased).
INCLUDE_PREFIXES = ("include.", "includeif.")


class ConfigSourceError(WorkspaceError):
    """A file git reads as config (or to find it) exists and is not a regular file: a FIFO
    can answer each reader differently (the listing one config, the next git another), so
    no git runs there until a person removes it."""


#: What the fingerprint holds for a ``.git`` that is a folder (any other source that is a
#: folder is refused; a ``.git`` file holding these bytes names no git dir, so is never kept).
FOLDER = b"<folder>"


def _read(path: str, folder_ok: bool = False) -> bytes | None:
    """The bytes of ``path``, or None when it is absent (or a path through a non-folder).
    Raises :class:`ConfigSourceError` for anything else that is not a regular file (a
    FIFO is never waited on) and for a file that cannot be read. Plain ``os`` calls on a
    string: this runs about six times before each of a lane's seventy git calls, where
    ``pathlib`` doubled its cost. ``folder_ok``: a folder is :data:`FOLDER`, not an error."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (OSError, ValueError) as exc:  # ValueError: a NUL in a path a pointer named
        raise ConfigSourceError(f"{path}: git reads it as config and it cannot be read "
                                f"({exc}); maestro runs no git there until it is fixed"
                                ) from None
    try:
        mode = os.fstat(fd).st_mode
        if folder_ok and stat.S_ISDIR(mode):
            return FOLDER
        if not stat.S_ISREG(mode):
            raise ConfigSourceError(
                f"{path}: git reads it as config and it is not a regular file (a FIFO can "
                "answer each reader differently); maestro runs no git there until a "
                "person removes it")
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_pointer(content: bytes, base: str, prefix: bytes = b"") -> tuple[str, bool] | None:
    """The path a ``.git`` file (``gitdir: X``) or a ``commondir`` file (``X``) names, read
    exactly as git reads it (setup.c: the prefix ``gitdir: `` verbatim, then everything up
    to the trailing carriage returns and newlines, spaces included, and up to a NUL, where
    git's string ends; relative to ``base``), with whether it can be trusted for a kept
    listing (not when a NUL cut it); None when git reads no path there."""
    if not content.startswith(prefix):
        return None
    text = content[len(prefix):].rstrip(b"\r\n")
    whole = b"\0" not in text
    text = text.split(b"\0", 1)[0]
    if not text:
        return None
    return os.path.join(base, os.fsdecode(text)), whole


def _named(folder: Path) -> tuple[list[str], bool] | None:
    """The files git reads its config from in ``folder`` (see :func:`config_sources`), as
    git names them, with whether a listing of them may be kept: not through a ``.git``
    that is a symbolic link (its target can change with nothing in the set changing) nor
    a pointer a NUL cut. None when git would not find a repository here by the folder
    alone, or would read a common dir it dies on."""
    root = os.fspath(folder)
    dotgit = os.path.join(root, ".git")
    try:
        mode = os.lstat(dotgit).st_mode
    except OSError:
        mode = 0
    trusted = not stat.S_ISLNK(mode)
    if not trusted:
        try:
            mode = os.stat(dotgit).st_mode  # git follows the link
        except OSError:
            return None
    sources = [dotgit]
    if stat.S_ISDIR(mode):
        gitdir = dotgit
    elif stat.S_ISREG(mode):
        named = read_pointer(_read(dotgit) or b"", root, b"gitdir: ")
        if named is None:
            return None
        gitdir, whole = named
        trusted = trusted and whole
    elif trusted and (os.path.isfile(os.path.join(root, "HEAD"))
                      and os.path.isdir(os.path.join(root, "objects"))):
        gitdir = root  # a bare repository, e.g. the local forge's origin
    else:
        return None
    commondir_file = os.path.join(gitdir, "commondir")
    sources.append(commondir_file)
    content = _read(commondir_file)
    common: str | None = gitdir
    if content is not None:
        pointed = read_pointer(content, gitdir)
        common, whole = pointed if pointed is not None else (None, False)
        trusted = trusted and whole
    if common is None:
        return None  # git dies on it: no git runs there to read a config
    for place in dict.fromkeys([gitdir, common]):
        sources += [os.path.join(place, "config"), os.path.join(place, "config.worktree")]
    return sources, trusted


def config_sources(folder: Path) -> list[str] | None:
    """Every file whose content decides what ``git config --list`` prints in ``folder``, or
    ``None`` when that set cannot be named without asking git, or not trusted to stay it
    (then nothing is cached). Raises :class:`ConfigSourceError` when one of them is not a
    regular file."""
    named = _named(folder)
    return named[0] if named is not None and named[1] else None


def fingerprint(sources: list[str]) -> Fingerprint:
    """``(path, bytes)`` of each source (:func:`config_sources`; the first, ``.git``, may
    be a folder: :data:`FOLDER`). Raises :class:`ConfigSourceError` as :func:`_read`."""
    return tuple((path, _read(path, folder_ok=index == 0))
                 for index, path in enumerate(sources))


def _git(env: Mapping[str, str]) -> str:
    """git along ``env``'s ``PATH`` (see :func:`maestro.git.git_program`)."""
    return find_program("git", env.get("PATH")) or "git"


def _listing(folder: Path, env: Mapping[str, str]) -> tuple[list[str], set[str]] | None:
    """``(key names, origin files)`` as git reports them, or ``None`` if git failed."""
    try:
        proc = subprocess.run([_git(env), "config", "--null", "--show-origin", "--name-only",
                               "--list"], cwd=folder, capture_output=True, env=dict(env),
                              check=False)
    except OSError:
        return None
    fields = [f for f in proc.stdout.split(b"\0") if f]
    keys: list[str] = []
    origins: set[str] = set()
    for origin, key in zip(fields[0::2], fields[1::2], strict=False):
        keys.append(key.decode(errors="replace"))
        kind, _, where = os.fsdecode(origin).partition(":")
        origins.add(where if kind == "file" else f"<{kind}>")
    return keys, origins


def snapshot_keys(taken: Fingerprint, env: Mapping[str, str]) -> list[str] | None:
    """The key names in the config files of ``taken`` (their bytes as read, given to git on
    stdin), all of them together; None if git cannot parse one. ``config.worktree`` counts
    even where git would not read it: a needless override disarms nothing that runs."""
    names: list[str] = []
    for path, content in taken:
        if content is None or not path.endswith(("/config", "/config.worktree")):
            continue
        try:
            proc = subprocess.run([_git(env), "config", "--null", "--name-only", "--file", "-",
                                   "--list"], input=content, cwd="/", capture_output=True,
                                  env=dict(env), check=False)
        except OSError:
            return None
        if proc.returncode != 0:
            return None
        names += [f.decode(errors="replace") for f in proc.stdout.split(b"\0") if f]
    return names


def _resolved(folder: Path, name: str) -> str:
    return os.path.realpath(folder / name)


def cacheable(folder: Path, keys: list[str], origins: set[str], sources: list[str]) -> bool:
    """Whether a listing may be reused while ``sources`` keep their content. Pure but for
    path resolution."""
    if any(key.lower().startswith(INCLUDE_PREFIXES) for key in keys):
        return False
    known = {os.path.realpath(path) for path in sources}
    return all(not origin.startswith("<") and _resolved(folder, origin) in known
               for origin in origins)


def config_keys(folder: Path, env: Mapping[str, str],
                lister: Callable[[Path, Mapping[str, str]],
                                 tuple[list[str], set[str]] | None] = _listing) -> list[str]:
    """The config key names git sees in ``folder`` under ``env`` (which must turn system and
    global config off); reused from this process's last listing while every source file has
    the same bytes. ``[]`` when git cannot list (not a repository)."""
    named = _named(folder)
    # Read also where a listing is never kept: a FIFO among them is refused (breaker 28 F1).
    taken = fingerprint(named[0]) if named is not None else None
    sources, before = (named[0], taken) if named is not None and named[1] else (None, None)
    key = os.path.realpath(folder)
    kept = _LISTINGS.get(key)
    if before is not None and kept is not None and kept[0] == before:
        return list(kept[1])
    if before is not None and (folder / ".git").is_file() and (
            borrowed := _borrowed(before)) is not None:
        _LISTINGS[key] = (before, borrowed)
        return list(borrowed)
    listed = lister(folder, env)
    if listed is None:
        return []
    keys, origins = listed
    _LISTINGS.pop(key, None)
    if before is not None and sources is not None and cacheable(folder, keys, origins, sources):
        # What is kept are the keys of the very bytes fingerprinted, not of what git read
        # a moment later: a file switched A -> B -> A around the listing cannot pair A's
        # fingerprint with B's keys.
        kept_keys = snapshot_keys(before, env)
        if kept_keys is not None and not any(k.lower().startswith(INCLUDE_PREFIXES)
                                             for k in kept_keys):
            _LISTINGS[key] = (before, tuple(kept_keys))
    return keys


def _config_files(taken: Fingerprint) -> dict[str, bytes]:
    """Real path -> bytes of the config files that exist in ``taken``."""
    return {os.path.realpath(path): content for path, content in taken
            if content is not None and path.endswith(("/config", "/config.worktree"))}


def _borrowed(before: Fingerprint) -> tuple[str, ...] | None:
    """The keys of a kept listing whose config files include, path for path and byte for
    byte, every config file of ``before`` (at least one); None when none does. See the
    module's docstring for why that is what git would list."""
    mine = _config_files(before)
    if not mine:
        return None
    for taken, names in list(_LISTINGS.values()):
        theirs = _config_files(taken)
        if all(theirs.get(path) == content for path, content in mine.items()):
            return names
    return None


def forget() -> None:
    """Drop every kept listing (tests; a long-lived process after a fork)."""
    _LISTINGS.clear()
