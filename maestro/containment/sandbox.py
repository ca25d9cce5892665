"""The optional OS sandbox: the agent and the validation commands under bubblewrap.

With ``[agent] sandbox = "bubblewrap"`` each is started as ``bwrap --ro-bind / /
--dev-bind /dev /dev --bind TMP TMP … --unshare-pid --proc /proc --ro-bind P P … -- argv``:
in a pid namespace of its own, with the whole file system read-only but for the devices
and the temporary folders (:func:`scratch_folders`), and what the caller's layers make
writable again (the home folder, the lane's worktree and git dir); the repository's
control files (the common ``config``, ``hooks/``, ``info/``, the worktree's git pointer and
config) are mounted read-only over everything; a hook or a config change it tries to plant
fails with "Read-only file system". A read-only root matters when maestro runs as root:
dropping every capability does not stop root from writing root-owned folders, so with a
writable root the agent could put a ``git`` in ``/usr/local/bin`` or an
``/etc/ld.so.preload`` that maestro's own processes (holding the tokens) run later.
Missing ``hooks/`` and ``info/`` folders are created first so they can be protected too.
Wider folders and files can be layered under them (``layers``): the lane decides which
(maestro/lanes/confinement/confine.py; what of the git dir stays writable for its
commits: maestro/containment/git_view.py), and so does the local forge's check
(maestro/forges/check_sandbox.py). Linux only; Debian's package is ``bubblewrap``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from pathlib import Path

from maestro.containment.exec_path import find_program
from maestro.errors import ConfigError

MODES = ("none", "bubblewrap")
#: Folders created (empty) before binding, so that a later write into them is refused too.
ENSURE_DIRS = ("hooks", "info")


def bwrap_binary() -> str:
    found = find_program("bwrap")
    if found is None:
        raise ConfigError("[agent] sandbox = \"bubblewrap\": the bwrap program is not on PATH "
                          "(Debian/Ubuntu: apt-get install bubblewrap), or set sandbox = "
                          "\"none\"")
    return found


def protected_paths(roots: Iterable[Path]) -> list[Path]:
    """The existing control files to mount read-only; a worktree's ``.git`` *folder* (the
    main checkout) is not one of them as a whole, since objects and refs must stay
    writable: its entries are listed among ``roots`` separately."""
    out: list[Path] = []
    for root in roots:
        if root.name in ENSURE_DIRS and root.parent.is_dir():
            root.mkdir(exist_ok=True)
        if root.name == ".git" and root.is_dir():
            continue
        if root.exists() or root.is_symlink():
            out.append(root)
    return out


def scratch_folders() -> list[Path]:
    """The temporary folders, writable in the sandbox (``$TMPDIR`` or ``/tmp``, and
    ``/var/tmp``): tests, compilers and package managers need them. maestro's own folders
    there are bound read-only by the callers (:mod:`~maestro.containment.private_tmp`)."""
    found = [Path(tempfile.gettempdir()), Path("/tmp"), Path("/var/tmp")]
    return [path for path in dict.fromkeys(found) if _bindable(path)]


#: One bind of :func:`bubblewrap_prefix`'s layers: ``("ro" | "rw", folder)`` binds a folder
#: (or file) over itself; ``("ro" | "rw", source, target)`` shows ``source`` at ``target``.
Layer = tuple[str, Path] | tuple[str, Path, Path]


def _bindable(path: Path) -> bool:
    """An existing folder or file that is no symbolic link (bwrap would follow one)."""
    return not path.is_symlink() and (path.is_dir() or path.is_file())


def bubblewrap_prefix(roots: Iterable[Path], binary: str | None = None, *,
                      layers: Iterable[Layer] = ()) -> list[str]:
    """The argv prefix that runs a program with ``roots`` read-only.

    ``layers`` are bound first, in order (``ro``: read-only, ``rw``: writable again inside
    an earlier read-only one; a folder or file that does not exist is skipped, and so is a
    symbolic link, as source or as target), then ``roots`` read-only over them all: bwrap
    applies its mounts in order, the last one wins, and takes each source from the file
    system as it was before any of them."""
    # A pid namespace of its own, with its own /proc: the agent neither sees nor signals
    # maestro's processes (nor reads their environment), and whatever it starts ends with
    # the namespace when its first process exits.
    # No capabilities (bwrap started by root keeps them all, and CAP_SYS_ADMIN would let the
    # agent unmount the read-only binds below).
    argv = [binary or bwrap_binary(), "--ro-bind", "/", "/", "--dev-bind", "/dev", "/dev",
            "--die-with-parent", "--unshare-pid", "--proc", "/proc", "--cap-drop", "ALL"]
    for folder in scratch_folders():
        argv += ["--bind", str(folder), str(folder)]
    for layer in layers:
        source, target = layer[1], layer[-1]
        if _bindable(source) and _bindable(target):
            argv += ["--ro-bind" if layer[0] == "ro" else "--bind", str(source), str(target)]
    for path in protected_paths(roots):
        argv += ["--ro-bind", str(path), str(path)]
    return [*argv, "--"]
