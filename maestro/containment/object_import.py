"""Take a sandboxed lane's new objects into the shared store, each under the name of its content.

What the lane's sandbox writes goes to its private store
(:mod:`maestro.containment.private_objects`), whose files the agent can write at will: a file
there may hold other content than its name says. So maestro's git never reads that store,
but here, once, to copy what the lane made into the shared store:

1. ``git rev-parse --revs-only HEAD refs/heads/<branch>`` in the worktree: the heads (the
   worktree's ``HEAD`` is detached in a rebase), read from refs alone;
2. ``git rev-list --objects --indexed-objects --reflog <heads> --not --remotes --tags``
   piped into ``git pack-objects --local``, both reading the private store with the shared
   one as its alternate: every object the heads, the worktree's index and the reflogs (a
   commit amended or rebased away stays reachable for the agent's ``HEAD@{1}``) reach that
   the shared store lacks (the walk stops at what the remote-tracking refs and tags hold;
   the sandboxes can write neither, so another lane cannot make this one skip its own
   commits);
3. ``git index-pack --stdin --strict`` in the repository: it names every object by the hash
   of its content and refuses a pack whose objects point at objects it lacks;
4. each head the walk found must now be a commit in the shared store. A swapped object was
   stored under its true name, so the head it claimed to be is missing:
   :class:`ObjectImportError`. (A head no store holds is a lost ref, which the worktree's
   healing restores, as without the sandbox.)

Steps 2 and 3 run only when the store holds anything (a sandboxed run wrote objects since
the last import); without the sandbox there is no store, and nothing runs at all. The
private store is then emptied (``settle``) when no sandboxed process of the lane can be
running; otherwise (a tool call mid-session) it is left as it is.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from maestro.containment import private_objects
from maestro.errors import WorkspaceError
from maestro.git import git_env, rev_parse_many, run_git

#: Seconds one git step of the import may take: a FIFO the agent planted must not hang the
#: lane (the store is scanned first; this bounds what is planted during a session).
STEP_TIMEOUT_S = 600.0
#: Read while importing, never trusted: the agent can write the private store's commit
#: graph and multi-pack index; an import that ignores them walks the objects themselves.
IMPORT_CONFIG = ("-c", "core.commitGraph=false", "-c", "core.multiPackIndex=false")


class ObjectImportError(WorkspaceError):
    """The lane's private objects could not be taken into the shared store as they claim;
    ``kept`` names where they were set aside (or is empty)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.kept = ""


@dataclass(frozen=True)
class Imported:
    """What an import did: ``objects`` taken in (0: nothing new), ``heads`` verified in the
    shared store."""

    objects: int
    heads: tuple[str, ...]


def _heads(cwd: Path, branch: str, worktree_head: bool) -> list[str]:
    """The commit names the lane branch (and the worktree's ``HEAD``) hold, from refs only."""
    names = ["HEAD", f"refs/heads/{branch}"] if worktree_head else [f"refs/heads/{branch}"]
    proc = run_git(cwd, ["rev-parse", "--revs-only", *names, "--"])
    return list(dict.fromkeys(line for line in proc.stdout.split() if line))


def _step(argv: list[str], cwd: Path, env: dict[str, str], stdin: IO[bytes] | None,
          out: IO[bytes], what: str) -> None:
    """One git process of the import, bounded by :data:`STEP_TIMEOUT_S`, writing ``out``;
    :class:`ObjectImportError` with git's words when it fails."""
    try:
        proc = subprocess.run(argv, cwd=cwd, env=env, stdin=stdin or subprocess.DEVNULL,
                              stdout=out, stderr=subprocess.PIPE, timeout=STEP_TIMEOUT_S,
                              check=False)
    except subprocess.TimeoutExpired:
        raise ObjectImportError(f"{what} took longer than {STEP_TIMEOUT_S:.0f} s") from None
    if proc.returncode != 0:
        said = proc.stderr.decode(errors="replace").strip()[-500:]
        raise ObjectImportError(f"{what} failed: {said or f'exit {proc.returncode}'}")


def _pack(cwd: Path, store: Path, common: Path, heads: list[str], out: IO[bytes]) -> set[str]:
    """Step 2 of the module docstring: the pack of the lane's new objects, into ``out``.
    Returns the heads the walk found an object for (a name the private store holds)."""
    env = {**git_env(cwd), "GIT_OBJECT_DIRECTORY": str(store),
           "GIT_ALTERNATE_OBJECT_DIRECTORIES": str(common / "objects")}
    indexed = ["--indexed-objects"] if (cwd / ".git").exists() else []
    walk = ["git", *IMPORT_CONFIG, "rev-list", "--objects", "--no-object-names",
            "--missing=allow-any", "--ignore-missing", "--reflog", *indexed, *heads,
            "--not", "--remotes", "--tags"]
    with tempfile.TemporaryFile() as listing:
        _step(walk, cwd, env, None, listing, "reading the lane's private objects")
        listing.seek(0)
        listed = {line.strip().decode() for line in listing} & set(heads)
        os.lseek(listing.fileno(), 0, os.SEEK_SET)
        _step(["git", *IMPORT_CONFIG, "pack-objects", "--local", "--stdout", "-q"], cwd, env,
              listing, out, "packing the lane's private objects")
    return listed


def _count(pack: IO[bytes]) -> int:
    """The object count of a pack's header (0 for an empty or short stream); read at the
    file descriptor, which git wrote and git reads next (no Python buffer in between)."""
    header = os.pread(pack.fileno(), 12, 0)
    return int.from_bytes(header[8:12], "big") if header[:4] == b"PACK" else 0


def import_objects(repo: Path, worktree: Path, branch: str, *, settle: bool) -> Imported | None:
    """Take the lane's private objects into the shared store (see the module docstring).

    None when the worktree has no private store with anything in it (no git runs).
    ``settle``: empty the store afterwards (only where no sandboxed process of the lane can
    be running). Raises :class:`ObjectImportError` naming git's words when an object is
    refused or a head is missing afterwards; the store is then left as it is."""
    git_dir = private_objects.lane_git_dir(repo, worktree)
    if git_dir is None:
        return None
    store = private_objects.store_of(git_dir)
    if not private_objects.pending(store):
        return None
    odd = private_objects.odd_entries(store)
    if odd:
        raise ObjectImportError("the lane's private object store holds what is neither a "
                                f"folder nor a file: {', '.join(odd[:5])}")
    common = _common_of(git_dir)
    in_worktree = (worktree / ".git").exists()
    cwd = worktree if in_worktree else repo
    heads = _heads(cwd, branch, in_worktree)
    with tempfile.TemporaryFile() as pack:
        listed = _pack(cwd, store, common, heads, pack)
        count = _count(pack)
        if count:
            os.lseek(pack.fileno(), 0, os.SEEK_SET)
            try:
                indexed = subprocess.run(["git", "index-pack", "--stdin", "--strict"],
                                         cwd=repo, env=git_env(repo), stdin=pack,
                                         capture_output=True, timeout=STEP_TIMEOUT_S,
                                         check=False)
            except subprocess.TimeoutExpired:
                raise ObjectImportError("hashing the lane's objects took longer than "
                                        f"{STEP_TIMEOUT_S:.0f} s") from None
            if indexed.returncode != 0:
                said = indexed.stderr.decode(errors="replace").strip()[-500:]
                raise ObjectImportError(
                    "the shared object store refused the lane's objects (a file in its "
                    "private store holds other content than its name says, or is gone; "
                    f"git index-pack --strict: {said})")
    # A head no store holds at all is a lost ref, for the worktree's healing; one the private
    # store gave that is not in the shared store now came under another name.
    found = rev_parse_many(repo, sorted(listed))
    missing = [head for head, commit in found.items() if commit != head]
    if missing:
        raise ObjectImportError(
            f"the lane's commit {missing[0]} is not among the objects its private store "
            "gave: a file there holds other content than its name says, or is gone")
    if settle:
        private_objects.empty(store)
    return Imported(count, tuple(sorted(listed)))


def _common_of(git_dir: Path) -> Path:
    """The common git dir of a worktree's own git dir (its ``commondir`` file, else itself)."""
    try:
        named = (git_dir / "commondir").read_text().strip()
    except OSError:
        return git_dir
    path = Path(named)
    return (path if path.is_absolute() else git_dir / path).resolve()
