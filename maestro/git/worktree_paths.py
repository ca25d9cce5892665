"""What a worktree holds besides its commit, read so that the agent cannot hide it.

Two questions maestro asks of a lane worktree before its files are taken for the commit's
(validation tests the files on disk, the push carries the commit):

- :func:`untracked` lists the untracked, not ignored paths, parsed from ``-z`` output
  byte for byte: a name may begin or end with whitespace, or be whitespace only, and
  must neither lose it (a leading space dropped once turned `` /abs/path`` into an
  absolute path that a clean-up then deleted) nor vanish. Names are decoded with the file
  system's encoding (undecodable bytes kept as surrogates, as :func:`os.fsdecode` does),
  and a name that is absolute or climbs out (``..``) is refused.
- :func:`tracked_changes` lists the tracked paths whose worktree content differs from
  ``HEAD``, judged with a fresh temporary index built from ``HEAD``: the worktree's own
  index is the agent's to write, and a forged entry (the committed blob with the current
  file's stat data, or a skip-worktree / assume-unchanged flag) would make ``git status``
  report a clean tree. With no stat data to trust, git hashes every tracked file (about
  1 GB/s); each path's attributes apply as a checkout would apply them.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path, PurePosixPath

from maestro.errors import WorkspaceError
from maestro.git import git_env, git_program


def run_bytes(cwd: Path, args: list[str], index: str | None = None, check: bool = True,
              stdin: bytes | None = None) -> bytes:
    """git's stdout as bytes (names are not text); ``index``: a ``GIT_INDEX_FILE`` of
    maestro's own; ``stdin``: git's input (none by default). ``WorkspaceError`` when git
    cannot start, or fails and ``check``."""
    env = git_env(cwd)
    if index is not None:
        env["GIT_INDEX_FILE"] = index
    try:
        proc = subprocess.run([git_program(env), *args], cwd=cwd, env=env, input=stdin,
                              stdin=None if stdin is not None else subprocess.DEVNULL,
                              capture_output=True, check=False)
    except OSError as exc:
        raise WorkspaceError(f"git {' '.join(args)} could not start in {cwd}: {exc}") from None
    if proc.returncode != 0 and check:
        words = proc.stderr.decode(errors="replace").strip()
        raise WorkspaceError(f"git {' '.join(args)} failed in {cwd}: {words}")
    return proc.stdout


def split_z(output: bytes) -> list[str]:
    """Paths from git's NUL-terminated output, exactly as named (no whitespace stripped);
    ``ValueError`` for one that is absolute or has a ``..`` part. Pure."""
    paths = []
    for raw in output.split(b"\0"):
        if not raw:
            continue
        path = os.fsdecode(raw)
        parts = PurePosixPath(path).parts
        if path.startswith("/") or ".." in parts:
            raise ValueError(f"git named a path outside the worktree: {path!r}")
        paths.append(path)
    return paths


def untracked(worktree: Path) -> list[str]:
    """Untracked, not ignored paths of ``worktree``, relative to it; a folder holding
    nothing tracked is one entry ending in ``/`` (an empty one included, and a nested
    repository)."""
    return split_z(run_bytes(worktree, ["ls-files", "-z", "--others", "--exclude-standard",
                                   "--directory"]))


def tracked_changes(worktree: Path) -> list[str]:
    """Tracked paths of ``worktree`` whose content differs from ``HEAD`` (modified,
    deleted, or changed in type), whatever its own index says."""
    handle, index = tempfile.mkstemp(prefix="maestro-index-")
    os.close(handle)
    try:
        run_bytes(worktree, ["read-tree", f"--index-output={index}", "HEAD"])
        # exit 1 with paths needing an update is expected: diff-files lists them
        run_bytes(worktree, ["update-index", "-q", "--refresh"], index=index, check=False)
        return split_z(run_bytes(worktree, ["diff-files", "--name-only", "-z"], index=index))
    finally:
        Path(index).unlink(missing_ok=True)
