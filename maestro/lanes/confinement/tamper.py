"""Tamper evidence for the repository's control files around every agent session.

The agent can write into the git dir its worktree shares with maestro: hooks, ``config``,
``config.worktree``, ``info/attributes``, the worktree's ``.git`` pointer. maestro's own git
never runs what those name (:mod:`~maestro.containment.gitguard`), but a change there is
still an attack or a mistake a person must see. So :func:`fingerprint` is taken before each
agent or repair session and compared after (and before the PR tool pushes): any difference
fails the attempt on the attention path, and the comment names the files. The before-image
is also kept in the lane folder (``control-files.json``, keyed by run and session record):
a session run again after a kill compares with the image taken before the killed one (a
new image would take the killed session's plant as the baseline), and a lane resumed from
its recorded tool calls, with no session of its own, compares with it too.

A worktree that *vanished* is not tampering: a person's ``rm -rf .worktrees/ID`` or
``git worktree remove``/``prune`` mid-session takes the worktree's ``.git`` pointer (and
perhaps its administrative files) away, and nothing the agent could plant is left behind.
:func:`only_vanished` tells that apart (pure): every change is the removal of the pointer or
of the worktree's own administrative files, and the pointer is among them. The PR tool still
refuses to push (nothing is whole to push from), the attempt goes on to its ordinary end, and
the next session rebuilds the worktree from the lane branch (``worktree_health``). A pointer
or administrative file that is *added* or *altered* (a ``.git`` file or folder planted in the
recreated folder, a ``gitdir`` repointed) is still tampering.

A fingerprint maps a display name (repository-relative where possible) to a digest of the
file's content (a config file's entries, less ``branch.*``) and executable bit (``chmod +x``
on a sample hook arms it), or of a symlink's target. Absent files are not in the map, and
neither is a config file without entries: git reads nothing from it, and the bubblewrap
sandbox creates an empty ``config.worktree`` so that it can bind it read-only
(:mod:`maestro.containment.git_view`).
"""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
from pathlib import Path

from maestro.containment.gitguard import base_env
from maestro.errors import WorkspaceError
from maestro.git.dirs import git_dirs
from maestro.lanes.context import LaneContext
from maestro.lanes.outcomes import require_human

#: Inside the common git dir: files and folders (walked recursively) that steer git.
COMMON_ENTRIES = ("config", "config.worktree", "hooks", "info", "commondir")
#: Inside a linked worktree's own git dir.
WORKTREE_ENTRIES = ("config.worktree", "commondir", "gitdir")

#: Compared by their entries, not their bytes (see :func:`config_entries`).
CONFIG_FILES = ("config", "config.worktree")

Fingerprint = dict[str, str]


def control_roots(worktree: Path) -> list[Path]:
    """The paths to fingerprint for ``worktree``, resolved once before the agent runs (the
    agent could repoint ``.git`` afterwards; the same paths are read again after)."""
    dirs = git_dirs(worktree)
    if dirs is None:
        raise WorkspaceError(f"{worktree}: git finds no repository there")
    common, own = dirs.common, dirs.git_dir
    roots = [common / name for name in COMMON_ENTRIES]
    if own != common:
        roots += [own / name for name in WORKTREE_ENTRIES]
    pointer = worktree / ".git"
    if not pointer.is_dir():  # a linked worktree's pointer file (the main one *is* the git dir)
        roots.append(pointer)
    return roots


#: SHA-256 of config file bytes → :func:`config_entries`' answer for them. The answer is a
#: function of the bytes alone (git parses exactly those, from stdin, with includes off),
#: so it is kept for the process: a lane reads the same config before and after each
#: session and before the PR tool's push, one git process each. Keyed by digest, not by
#: the bytes, so an agent's huge config is not held twice; bounded: cleared past
#: :data:`ENTRIES_KEPT`.
_ENTRIES: dict[bytes, bytes | None] = {}
ENTRIES_KEPT = 32


def config_entries(path: Path) -> bytes | None:
    """A git config file's entries, sorted, without ``branch.*`` (upstream tracking, which
    maestro's own git writes for other lanes at any time and which maestro's pushes, always
    to an explicit remote and refspec, never read). ``None`` when git cannot parse it or
    the file cannot be read."""
    try:
        content = path.read_bytes()
    except OSError:
        return None
    key = hashlib.sha256(content).digest()
    if key in _ENTRIES:
        return _ENTRIES[key]
    proc = subprocess.run(["git", "config", "--file", "-", "--no-includes", "--null",
                           "--list"], input=content, cwd="/", capture_output=True,
                          env=base_env(), check=False)
    entries: bytes | None = None
    if proc.returncode == 0:
        kept = [e for e in proc.stdout.split(b"\0")
                if e and not e.lower().startswith(b"branch.")]
        entries = b"\0".join(sorted(kept))
    if len(_ENTRIES) >= ENTRIES_KEPT:
        _ENTRIES.clear()
    _ENTRIES[key] = entries
    return entries


def _digest(path: Path, info: os.stat_result) -> str:
    if stat.S_ISLNK(info.st_mode):
        return "link:" + os.readlink(path)
    if not stat.S_ISREG(info.st_mode):
        return f"mode:{stat.S_IFMT(info.st_mode):o}"
    content = config_entries(path) if path.name in CONFIG_FILES else None
    if content == b"":
        return ""  # no entries: as if absent (see the module docstring)
    sha = hashlib.sha256(path.read_bytes() if content is None else content).hexdigest()
    return f"{'x' if info.st_mode & 0o111 else '-'}:{sha}"


def _walk(path: Path) -> list[Path]:
    try:
        info = path.lstat()
    except OSError:
        return []
    if stat.S_ISDIR(info.st_mode):
        return [path, *(p for child in sorted(path.iterdir()) for p in _walk(child))]
    return [path]


def display_name(path: Path, repo_root: Path) -> str:
    """Repository-relative where possible (comments never carry absolute host paths)."""
    try:
        return path.relative_to(repo_root).as_posix()
    except ValueError:
        return path.name


def fingerprint(roots: list[Path], repo_root: Path) -> Fingerprint:
    out: Fingerprint = {}
    for root in roots:
        for path in _walk(root):
            try:
                info = path.lstat()
                digest = "dir" if stat.S_ISDIR(info.st_mode) else _digest(path, info)
            except OSError:
                continue
            if digest:
                out[display_name(path, repo_root)] = digest
    return out


def changes(before: Fingerprint, after: Fingerprint) -> list[str]:
    """Pure: the names added, removed or altered, sorted."""
    return sorted(name for name in before.keys() | after.keys()
                  if before.get(name) != after.get(name))


def only_vanished(changed: list[str], after: Fingerprint, pointer: str,
                  own_prefix: str) -> bool:
    """Pure: whether ``changed`` is only the lane worktree going away: the ``pointer`` (the
    worktree's ``.git`` display name) is among the changes, and every change is a name that
    is absent ``after`` and is the pointer or lies below ``own_prefix`` (the worktree's own
    git dir, e.g. ``.git/worktrees/ID``; "" for a main worktree, which has none)."""
    if pointer not in changed:
        return False

    def link(name: str) -> bool:
        return name == pointer or (bool(own_prefix) and (
            name == own_prefix or name.startswith(own_prefix + "/")))

    return all(name not in after and link(name) for name in changed)


VANISHED = ("the lane's worktree was removed during the session (its .git link to the "
            "repository is gone), so nothing was pushed; maestro rebuilds the worktree from "
            "the lane branch before the next session")


def describe(changed: list[str]) -> str:
    return ("the agent changed the repository's control files (hooks, git config or "
            "attributes), which maestro does not accept: " + ", ".join(changed)
            + ". A person must inspect and restore them before the lane goes on.")


IMAGE = "control-files.json"


class ControlFiles:
    """The before-image of one session; :meth:`changed` compares the present with it."""

    def __init__(self, worktree: Path, repo_root: Path,
                 before: Fingerprint | None = None) -> None:
        self.repo_root = repo_root
        self.roots = control_roots(worktree)
        self.before = fingerprint(self.roots, repo_root) if before is None else before
        #: Every change seen during the session, even one undone since: a change the PR
        #: tool refused still ends the attempt for a person after the agent reverts it.
        self.seen: list[str] = []
        #: Whether any change seen was more than the worktree vanishing (:func:`only_vanished`).
        self.tampered = False
        self.pointer = display_name(worktree / ".git", repo_root)
        dirs = git_dirs(worktree)
        own = dirs.git_dir if dirs is not None and dirs.git_dir != dirs.common else None
        self.own_prefix = display_name(own, repo_root) if own is not None else ""

    def changed(self) -> list[str]:
        after = fingerprint(self.roots, self.repo_root)
        now = changes(self.before, after)
        self.seen += [name for name in now if name not in self.seen]
        if now and not only_vanished(now, after, self.pointer, self.own_prefix):
            self.tampered = True
        return now

    def refusal(self, changed: list[str]) -> str:
        """The PR tool's answer to ``changed`` (see :meth:`changed`)."""
        return describe(changed) if self.tampered else VANISHED

    def keep(self, ctx: LaneContext, session: str) -> None:
        """Write the before-image to the lane folder (atomically) for a resumed run."""
        ctx.state.write(IMAGE, {"session": session, "files": self.before})

    @classmethod
    def kept(cls, ctx: LaneContext, session: str) -> ControlFiles | None:
        """The before-image kept for ``session`` (run id and tool record), or None."""
        image = ctx.state.read(IMAGE)
        if not isinstance(image, dict) or image.get("session") != session:
            return None
        files = image.get("files")
        if not isinstance(files, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
            return None
        return cls(ctx.worktree, ctx.config.repo_root, before=files)


def refuse_tampering(ctx: LaneContext, control: ControlFiles) -> None:
    """After a session: any change to the control files ends the attempt for a human, unless
    the worktree only vanished (journaled; the next session rebuilds it)."""
    control.changed()
    changed = control.seen
    if changed and not control.tampered:
        ctx.state.journal("worktree_vanished", files=changed)
        return
    if changed:
        ctx.state.journal("control_files_changed", files=changed)
        require_human(ctx, "control_files_changed", describe(changed))
