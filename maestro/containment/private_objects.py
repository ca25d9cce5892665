"""A sandboxed lane's private object store: what its git writes never lands in the shared one.

git does not hash an object again when it reads it, so a file in the repository's shared
``objects/`` is trusted under its name by every worktree, every lane and the operator's
checkout. Under ``[agent] sandbox = "bubblewrap"`` the shared store is therefore read-only,
and the lane's git writes into a store of its own, kept in its worktree's own git dir
(``.git/worktrees/<lane>/``, removed with the worktree):

* :data:`STORE` (``maestro-objects/``): the lane's objects and packs; inside the sandbox it
  is mounted *at* ``<common>/objects``, so every git the sandbox runs (the agent's, a
  validation suite's, a hook's, whatever their environment says) writes there, and nothing
  has to be set in an environment the agent could drop or a test suite's own repositories
  would inherit;
* :data:`SHARED_VIEW` (``maestro-shared-objects/``): an empty folder outside the sandbox;
  inside it, the shared store mounted read-only. The store's ``info/alternates`` names it,
  so git reads the shared objects through it;
* the store's ``info/`` (the alternates, a commit graph) is read-only in the sandbox.

The store, its ``info/`` and the view are mount points inside the sandbox, so a sandboxed
process can neither rename nor replace them (by a symbolic link to the shared store, say,
that the next sandbox would bind writable): bwrap refuses both with "Device or resource
busy". Before binding, :func:`ensure_store` replaces whatever is not a plain folder.

maestro's own git never reads the store but for one step,
:mod:`maestro.containment.object_import`, which hashes every object into the shared store.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from maestro.containment.sandbox import Layer

#: The lane's private object store, in its worktree's own git dir.
STORE = "maestro-objects"
#: The mount point of the shared store inside the sandbox, in the same git dir.
SHARED_VIEW = "maestro-shared-objects"


def store_of(git_dir: Path) -> Path:
    """The private store of the worktree whose own git dir is ``git_dir``."""
    return git_dir / STORE


def _plain_folder(path: Path) -> None:
    """Make ``path`` a folder that is no symbolic link, removing whatever else is there."""
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        path.unlink()
    path.mkdir(exist_ok=True)


def ensure_store(git_dir: Path) -> Path:
    """Create (or repair) the store and the view's mount point; write the store's alternates
    (the view's path, replaced atomically, never through a link). Returns the store."""
    store, view = store_of(git_dir), git_dir / SHARED_VIEW
    for folder in (store, store / "info", view):
        _plain_folder(folder)
    alternates = store / "info" / "alternates"
    want = f"{view}\n".encode()
    if alternates.is_symlink() or not alternates.is_file() or alternates.read_bytes() != want:
        temporary = store / "info" / "alternates.maestro-tmp"
        temporary.unlink(missing_ok=True)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "wb") as out:
            out.write(want)
        os.replace(temporary, alternates)
    return store


def store_layers(common: Path, git_dir: Path) -> list[Layer]:
    """The binds that give the sandbox the private store at ``common/objects`` and the shared
    one read-only at the view, in order; after ``common`` (read-only) and ``git_dir``."""
    store, view = ensure_store(git_dir), git_dir / SHARED_VIEW
    shared = common / "objects"
    return [("rw", store), ("ro", store / "info"), ("ro", shared, view),
            ("rw", store, shared), ("ro", store / "info", shared / "info")]


def own_git_dir(worktree: Path) -> Path | None:
    """The worktree's own git dir, read from its ``.git`` (a folder, or a file naming one)
    without running git; None when there is none."""
    dotgit = worktree / ".git"
    if dotgit.is_dir():
        return dotgit
    try:
        text = dotgit.read_text(errors="replace")[:4096]
    except OSError:
        return None
    if not text.startswith("gitdir:"):
        return None
    target = Path(text.removeprefix("gitdir:").strip())
    return target if target.is_absolute() else worktree / target


def registered_git_dir(repo: Path, worktree: Path) -> Path | None:
    """The git dir ``repo`` keeps for its linked ``worktree`` (``.git/worktrees/<name>``,
    whose ``gitdir`` file names ``worktree/.git``), found without running git; what is
    left of a worktree whose folder was deleted, with its private store (breaker 24 F5:
    a cancel then pruned it, and a sandboxed session's commits with it). None when
    ``repo`` has no such registration."""
    admin = repo / ".git" / "worktrees"
    wanted = os.path.normpath(worktree / ".git")
    try:
        entries = list(os.scandir(admin))
    except OSError:
        return None
    for entry in entries:
        try:
            named = (Path(entry.path) / "gitdir").read_text(errors="replace").strip()
        except OSError:
            continue
        if os.path.normpath(named) == wanted:
            return Path(entry.path)
    return None


def lane_git_dir(repo: Path, worktree: Path) -> Path | None:
    """The worktree's own git dir: from its ``.git``, or from the registration its
    deleted folder left (:func:`registered_git_dir`)."""
    return own_git_dir(worktree) or registered_git_dir(repo, worktree)


def pending(store: Path) -> bool:
    """Whether ``store`` holds anything besides its ``info/`` (filesystem reads only)."""
    try:
        entries = list(os.scandir(store))
    except OSError:
        return False
    for entry in entries:
        if entry.name == "info":
            continue
        if not entry.is_dir(follow_symlinks=False):
            return True
        with os.scandir(entry.path) as inner:
            if any(True for _ in inner):
                return True
    return False


def odd_entries(store: Path) -> list[str]:
    """Entries below ``store`` (outside ``info/``) that are neither folders nor regular files:
    a FIFO would block maestro's git reading it, a link would make it read elsewhere."""
    odd: list[str] = []
    for root, dirs, files in os.walk(store):
        here = Path(root)
        if here == store and "info" in dirs:
            dirs.remove("info")
        for name in [*dirs, *files]:
            path = here / name
            if path.is_symlink() or not (path.is_dir() or path.is_file()):
                odd.append(str(path.relative_to(store)))
    return odd


def empty(store: Path) -> None:
    """Remove everything in ``store`` but its ``info/``: once every object in it is in the
    shared store (or was refused), nothing reads it any more."""
    for entry in os.scandir(store):
        if entry.name == "info":
            continue
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            Path(entry.path).unlink(missing_ok=True)
