"""The sandbox's view of the repository's git dir: read-only, but for what one lane's git
work writes.

A lane's agent commits, amends and rebases in its linked worktree. What git writes for that
is known and small, and everything else in the common git dir is the operator's: their
``HEAD``, index, ``refs/heads/main``, ``packed-refs``, remote-tracking refs,
``objects/info/alternates`` (another object store git would trust), ``commondir``. So
:func:`lane_git_layers` binds the common git dir read-only and opens exactly these again,
derived from the lane's branch and its worktree's own git dir:

* in place of ``objects/``, the lane's private object store
  (:mod:`maestro.containment.private_objects`): new objects and packs land there, never in
  the shared store, which the sandbox reads read-only through the private store's
  alternate (git does not hash an object again when it reads it, so a file written into
  the shared store would be trusted under its name by every lane and the operator);
  maestro takes the lane's objects into the shared store by hashing each
  (:mod:`maestro.containment.object_import`);
* the worktree's own git dir (its ``HEAD``, index, reflog, rebase state); its ``config.worktree``,
  ``commondir`` and ``gitdir`` are bound read-only after these by the caller (the control
  files of :func:`maestro.lanes.confinement.tamper.control_roots`);
* the folder of the lane branch's loose ref (``refs/heads/maestro/`` for ``maestro/demo-1``):
  git writes ``<ref>.lock`` beside the ref and renames it over the ref, so the folder itself
  must be writable; every other entry in it (other lanes' refs, their locks) is bound
  read-only over itself, so it can be neither rewritten nor renamed over nor removed;
* the branch's reflog file (git appends to it in place).

Binds need their mount points to exist, so the private store, the ref folder, an empty
reflog (git treats it as one without entries) and an empty ``config.worktree`` (git reads it
only with ``extensions.worktreeConfig``; the tamper check counts a config file without
entries as absent) are created first.

A new name in the ref folder can still be created (a branch ``maestro/x``); git refuses to
write a ref whose reflog it cannot write, unless told not to keep one. Such a branch is no
lane's work: the provenance check refuses commits no session of a lane made. A branch name
without a folder (``branch_prefix = ""``) would make ``refs/heads/`` itself writable, where a
loose ``main`` would shadow a packed one, so it is refused.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path, PurePosixPath

from maestro.containment.private_objects import store_layers
from maestro.containment.sandbox import Layer
from maestro.errors import ConfigError


def ref_folder(common: Path, branch: str) -> Path:
    """The folder of ``branch``'s loose ref; ``ConfigError`` when that is ``refs/heads``."""
    parent = PurePosixPath(branch).parent
    if str(parent) in ("", "."):
        raise ConfigError(
            f"[agent] sandbox = \"bubblewrap\": the lane branch {branch!r} has no folder, so its "
            "ref would share refs/heads/ with the base branch; give forge.branch_prefix a "
            "folder (such as \"maestro/\") in WORKFLOW.md")
    return common / "refs" / "heads" / parent


def create_empty(path: Path) -> None:
    """Create ``path`` as an empty file unless something is there already; never through a
    symbolic link (one planted there would make this create a file elsewhere)."""
    with contextlib.suppress(FileExistsError):  # a symbolic link, dangling or not, too
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644))


def lane_git_layers(common: Path, git_dir: Path, branch: str) -> list[Layer]:
    """The binds, in order, that give a lane's sandbox its view of ``common`` (the
    repository's common git dir): all read-only, then writable again what the lane's git
    work on ``branch`` writes, in its worktree's own git dir ``git_dir``. Creates the mount
    points that do not exist yet (see the module docstring)."""
    folder = ref_folder(common, branch)
    leaf = PurePosixPath(branch).name
    reflog = common / "logs" / "refs" / "heads" / branch
    (common / "objects" / "info").mkdir(parents=True, exist_ok=True)
    folder.mkdir(parents=True, exist_ok=True)
    reflog.parent.mkdir(parents=True, exist_ok=True)
    create_empty(reflog)
    layers: list[Layer] = [("ro", common)]
    if git_dir != common:
        layers.append(("rw", git_dir))
        # Bound read-only by the caller only if it exists: an absent one could be created.
        create_empty(git_dir / "config.worktree")
    layers += store_layers(common, git_dir)
    layers.append(("rw", folder))
    layers += [("ro", entry) for entry in sorted(folder.iterdir())
               if entry.name not in (leaf, f"{leaf}.lock") and not entry.is_symlink()]
    layers.append(("rw", reflog))
    return layers
