"""Is the lane's worktree whole? And if not, make it whole again.

A target file (``workspace.json``) says the worktree was prepared once; it says nothing about
now. A ``kill -9`` inside ``git worktree add`` leaves a folder with a ``.git`` file, git's
``locked: initializing`` marker and no files; a person may delete the folder, the branch or
a few files. An agent started in such a folder commits the deletion of every file it does
not see. So before a session starts the worktree is inspected (:func:`inspect`), judged by
a pure function (:func:`diagnose`) and healed (:func:`heal`) until it is whole:

- registered with git (``git worktree list --porcelain``), not locked, not prunable;
- on the lane branch, which exists locally;
- its checkout complete: the index exists and every file of ``HEAD`` is on disk.

Healing never loses work: a half-created or vanished worktree is removed and added again
from the lane branch; a missing branch is restored from the newest of the places that may
hold it (the caller names them, see :func:`choose_start`); files missing from a finished
checkout are checked out again from ``HEAD`` (other uncommitted edits stay). A folder git
does not know that holds anything but a dead worktree is never deleted, and a broken
worktree that holds files (git forgot it, its ``HEAD`` or index is gone) is set aside
whole before it is added again (:func:`set_aside`): files nobody committed are kept.
"""

from __future__ import annotations

import os
import shutil
import stat
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from maestro.containment.config_listing import read_pointer
from maestro.errors import WorkspaceError
from maestro.git import git, git_ok, rev_parse, rev_parse_many
from maestro.git.dirs import git_dirs, held
from maestro.git.memo import fixed, git_fixed
from maestro.process import faults

#: The lock reason ``git worktree add`` writes while it works; left behind, it marks a dead add.
INITIALIZING = "initializing"
#: Why a worktree is created the first time (not a repair, so not reported as one).
NO_WORKTREE = "there is no worktree yet"
#: At most this many missing paths are listed in messages and records.
LIST_LIMIT = 20


@dataclass(frozen=True)
class WorktreeFacts:
    """What git and the disk say about one lane worktree path (gathered by :func:`inspect`)."""

    exists: bool = False
    #: Something that is not a folder (a file, a dangling link) is at the path.
    not_a_folder: bool = False
    #: The folder holds nothing at all.
    empty: bool = False
    #: Its ``.git`` file names an administrative folder of this repository.
    ours: bool = False
    #: The lane's own record says maestro made its worktree at this path (``workspace.json``),
    #: whatever its ``.git`` says now.
    made_here: bool = False
    #: Its ``.git`` file leads to an administrative folder of this repository that names
    #: this path back (:func:`linked_here`): git run in it acts on this worktree, not on a
    #: repository of its own or another worktree's.
    linked: bool = False
    registered: bool = False
    #: git's lock reason ("" when locked without one); None when not locked.
    locked: str | None = None
    prunable: bool = False
    #: The branch git has checked out there (without ``refs/heads/``); None when detached.
    branch: str | None = None
    head_ok: bool = False
    index_present: bool = False
    #: Files of ``HEAD`` absent from the disk (all of them, in ``ls-tree`` order).
    missing: tuple[str, ...] = ()
    #: ``HEAD``'s tree holds at least one file.
    head_has_files: bool = False
    #: The lane branch exists as a local branch.
    branch_exists: bool = False
    #: Another registered worktree (path) that has the lane branch checked out.
    elsewhere: str | None = None
    #: ... and that worktree is gone from disk or locked by a dead add (safe to unregister).
    elsewhere_stale: bool = False
    #: ``git worktree prune`` could change what ``git worktree add`` does for this path
    #: (see :func:`prune_matters`).
    prune_matters: bool = True


@dataclass(frozen=True)
class Diagnosis:
    """``action`` is one of: ``whole``, ``create``, ``recreate``, ``restore_branch``,
    ``restore_files``, ``unregister_elsewhere``, ``refuse``; ``reason`` says why in words."""

    action: str
    reason: str


def diagnose(facts: WorktreeFacts, branch: str) -> Diagnosis:
    """The one next step towards a whole worktree on ``branch`` (pure; tested by a table)."""
    if facts.not_a_folder:
        return Diagnosis("refuse", "something that is not a folder is where the worktree "
                                   "goes; move it away")
    if facts.elsewhere and not facts.registered:
        if facts.elsewhere_stale:
            return Diagnosis("unregister_elsewhere",
                             f"branch {branch} is registered to a dead worktree at "
                             f"{facts.elsewhere}")
        return Diagnosis("refuse", f"branch {branch} is checked out in another worktree, "
                                   f"{facts.elsewhere}")
    if not facts.exists:
        if facts.registered:
            return Diagnosis("recreate", "the worktree folder was deleted")
        return Diagnosis("create", NO_WORKTREE)
    if not facts.registered:
        if facts.empty:
            return Diagnosis("create", "the folder is empty and git does not know it")
        if facts.ours:
            return Diagnosis("recreate", "the folder is a worktree git no longer knows")
        if facts.made_here:
            return Diagnosis("recreate", "the lane's worktree lost its .git (or it names "
                                         "another repository) and git no longer knows it")
        return Diagnosis("refuse", "the folder exists but is not a worktree of this "
                                   "repository, and maestro never deletes what it cannot "
                                   "tell is its own; move it away, then run the lane again")
    if not facts.linked:
        return Diagnosis("recreate", "the worktree's .git does not lead back to its own "
                                     "registration (a repository of its own, or another "
                                     "worktree's)")
    if facts.locked is not None and facts.locked.strip() == INITIALIZING:
        return Diagnosis("recreate", "a `git worktree add` died before it finished "
                                     "(locked: initializing)")
    if facts.prunable:
        return Diagnosis("recreate", "git marks the worktree prunable")
    if facts.branch != branch:
        found = facts.branch or "a detached HEAD"
        return Diagnosis("refuse", f"the worktree is on {found}, not the lane branch {branch}")
    if not facts.branch_exists:
        return Diagnosis("restore_branch", f"the local branch {branch} is missing")
    if not facts.head_ok:
        return Diagnosis("recreate", "HEAD does not resolve to a commit")
    if facts.head_has_files and not facts.index_present:
        return Diagnosis("recreate", "the checkout never finished (no index)")
    if facts.missing:
        shown = ", ".join(facts.missing[:LIST_LIMIT])
        more = f" and {len(facts.missing) - LIST_LIMIT} more" if len(
            facts.missing) > LIST_LIMIT else ""
        return Diagnosis("restore_files",
                         f"{len(facts.missing)} tracked file(s) missing: {shown}{more}")
    return Diagnosis("whole", "the worktree is whole")


def choose_start(candidates: Sequence[tuple[str, str]],
                 is_ancestor: Callable[[str, str], bool]) -> tuple[str, str] | None:
    """Where a lost lane branch starts again: the candidate every other one is an ancestor
    of (the newest, when they lie on one line); when they diverged, the first (the caller
    lists its own recorded work first). ``candidates`` are ``(label, commit)`` pairs."""
    if not candidates:
        return None
    for label, commit in candidates:
        if all(other == commit or is_ancestor(other, commit) for _, other in candidates):
            return label, commit
    return candidates[0]


# -- gathering --------------------------------------------------------------------------------


def worktree_entries(repo: Path) -> list[dict[str, str]]:
    """``git worktree list --porcelain`` as one dict per worktree (``worktree``, ``HEAD``,
    ``branch``, ``detached``, ``locked``, ``prunable``: value "" when git gives no reason)."""
    out = git(repo, "worktree", "list", "--porcelain")
    entries: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for line in [*out.splitlines(), ""]:
        if not line.strip():
            if current:
                entries.append(current)
            current = {}
            continue
        key, _, value = line.partition(" ")
        current[key] = value
    return entries


def _same_path(a: str | Path, b: Path) -> bool:
    return Path(a).resolve() == b.resolve()


def linked_here(path: Path, repo: Path) -> Path | None:
    """The administrative folder of ``repo`` that the worktree at ``path`` is linked to, or
    None: ``path`` is a real folder (no link), its ``.git`` a file naming a folder inside
    the common dir's ``worktrees/``, and that folder's ``gitdir`` names ``path/.git`` back.
    git's list says a path is registered; only this says git run there acts on that
    registration, and not on a repository the agent made there (``rm .git; git init``) or
    on another lane's worktree its ``.git`` was pointed at (breaker 31 F1, F3)."""
    dotgit = path / ".git"
    try:
        if path.is_symlink() or not stat.S_ISREG(os.lstat(dotgit).st_mode):
            return None
        content = dotgit.read_bytes()[:4096]
    except OSError:
        return None
    named = read_pointer(content, os.fspath(path), b"gitdir: ")
    if named is None or not named[1]:  # no pointer, or one a NUL cut
        return None
    admin = Path(named[0])
    dirs = git_dirs(repo)
    if dirs is None:
        raise WorkspaceError(f"{repo}: git finds no repository there")
    try:
        if os.path.realpath(admin.parent) != os.path.realpath(dirs.common / "worktrees"):
            return None
        back = (admin / "gitdir").read_bytes()[:4096].rstrip(b"\r\n")
    except OSError:
        return None
    # Relative in both files when git writes them so (``worktree.useRelativePaths``,
    # git 2.48): the pointer from the worktree, the one back from the admin folder.
    if os.path.realpath(os.path.join(admin, os.fsdecode(back))) != os.path.realpath(dotgit):
        return None
    return admin


def _points_into(dotgit: Path, repo: Path) -> bool:
    """A ``.git`` file naming an administrative folder of ``repo``'s worktrees."""
    if not dotgit.is_file():
        return False
    try:
        text = dotgit.read_text(errors="replace").strip()
    except OSError:
        return False
    if not text.startswith("gitdir:"):
        return False
    target = dotgit.parent / text.removeprefix("gitdir:").strip()  # relative: to the folder
    dirs = git_dirs(repo)
    if dirs is None:
        raise WorkspaceError(f"{repo}: git finds no repository there")
    return (dirs.common / "worktrees").resolve() in target.resolve().parents


def tracked_missing(path: Path, head: str | None = None) -> tuple[tuple[str, ...], bool]:
    """Files of ``HEAD`` that are not on disk, and whether ``HEAD`` has files at all.

    ``head``: the commit ``HEAD`` was just read as; its file list is then fixed by the hash
    and kept for the process (:mod:`maestro.git.memo`), while the disk is looked at anew on
    every call (a worktree is checked at prepare and again as each session starts)."""
    if head is not None and fixed(("ls-tree", head)):
        listing = git_fixed(path, "ls-tree", "-r", "-z", "--name-only", head, check=False)
    else:
        listing = git(path, "ls-tree", "-r", "-z", "--name-only", "HEAD", check=False)
    names = [n for n in listing.split("\0") if n]
    return tuple(n for n in names if not os.path.lexists(path / n)), bool(names)


def _resolve(repo: Path, path: Path, ref: str) -> dict[str, str | None]:
    """``ref`` (a branch) and the worktree's ``HEAD`` in one git process run in ``path``.

    The branch is taken from the worktree's answer only when the worktree belongs to
    ``repo`` (same common dir) and found it; otherwise ``repo`` itself is asked, so a broken
    or repointed worktree never makes the lane branch look present or absent."""
    found = rev_parse_many(path, [ref, "HEAD"])
    own, main = git_dirs(path), git_dirs(repo)
    if found[ref] is None or own is None or main is None or own.common != main.common:
        found[ref] = rev_parse(repo, ref)
    return found


def inspect(repo: Path, path: Path, branch: str,
            branch_exists: bool | None = None, made_here: bool = False) -> WorktreeFacts:
    """Gather :class:`WorktreeFacts` for ``path`` (git reads only; changes nothing).
    ``branch_exists``: whether the local lane branch exists, when the caller has just read
    it with nothing but maestro's own code run since (None: read here if needed);
    ``made_here``: the caller's record says maestro made the lane's worktree at ``path``."""
    ref = f"refs/heads/{branch}"
    entries = worktree_entries(repo)
    mine = next((e for e in entries if _same_path(e.get("worktree", ""), path)), None)
    other = next((e for e in entries if e.get("branch") == ref and e is not mine
                  and not _same_path(e.get("worktree", ""), repo)), None)
    exists = path.is_dir() and not path.is_symlink()
    facts: dict[str, object] = {
        "prune_matters": prune_matters(repo, path, entries),
        "exists": exists,
        "not_a_folder": not exists and os.path.lexists(path),
        "linked": exists and linked_here(path, repo) is not None,
        "empty": exists and not any(path.iterdir()),
        "ours": exists and (_points_into(path / ".git", repo)
                            or _points_into(path / GIT_SET_ASIDE, repo)),
        "registered": mine is not None,
        "made_here": exists and made_here,
    }
    checked_out = mine is not None and exists and "prunable" not in mine
    found = _resolve(repo, path, ref) if checked_out else {}
    if checked_out:
        facts["branch_exists"] = found[ref] is not None
    else:
        facts["branch_exists"] = (branch_exists if branch_exists is not None
                                  else rev_parse(repo, ref) is not None)
    if other is not None:
        other_path = Path(other["worktree"])
        facts["elsewhere"] = str(other_path)
        facts["elsewhere_stale"] = ("prunable" in other or not other_path.exists()
                                    or other.get("locked", "").strip() == INITIALIZING)
    if mine is not None:
        facts["locked"] = mine.get("locked")
        facts["prunable"] = "prunable" in mine
        branch_ref = mine.get("branch")
        facts["branch"] = branch_ref.removeprefix("refs/heads/") if branch_ref else None
    if checked_out:
        facts["head_ok"] = found["HEAD"] is not None
        dirs = git_dirs(path)
        facts["index_present"] = dirs is not None and (dirs.absolute / "index").exists()
        if facts["head_ok"]:
            facts["missing"], facts["head_has_files"] = tracked_missing(path, found["HEAD"])
    return WorktreeFacts(**facts)  # type: ignore[arg-type]


# -- acting -----------------------------------------------------------------------------------


def discard(repo: Path, path: Path) -> None:
    """Remove whatever is registered or left at ``path``: remove (``--force`` twice also
    removes a locked worktree, a dead add's included), delete the folder, prune. Each step
    may find nothing to do; none of them retries.

    When git refuses the remove (a folder whose ``.git`` is gone or repointed), the lock is
    lifted so that the prune, which keeps locked entries, unregisters it once its folder is
    deleted. A remove that worked leaves nothing of ``path`` to unlock or prune; the prune
    then runs only when other entries are left in the ``worktrees`` folder (git drops the
    folder with its last entry, and prune acts on nothing else)."""
    dirs = git_dirs(repo)  # asked before the remove changes the git dir's times
    removed = git_ok(repo, "worktree", "remove", "--force", "--force", str(path))
    if not removed:
        git_ok(repo, "worktree", "unlock", str(path))
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path, ignore_errors=True)
    if not removed or dirs is None or _has_entries(dirs.common / "worktrees"):
        git_ok(repo, "worktree", "prune")


def _has_entries(folder: Path) -> bool:
    """Whether ``folder`` holds anything; True when it cannot be read (then prune runs)."""
    try:
        with os.scandir(folder) as entries:
            return any(True for _ in entries)
    except FileNotFoundError:
        return False
    except OSError:
        return True


def prune_matters(repo: Path, path: Path, entries: list[dict[str, str]]) -> bool:
    """Whether ``git worktree prune`` before adding the worktree at ``path`` could change
    what the add does; ``entries``: git's list of worktrees, read just before.

    The add refuses a path registered to a worktree, or a branch checked out in one, both
    judged from that list (:func:`diagnose` decides on them before any add), and it names
    the worktree's administrative folder after the path's last part, with a number added
    while that folder exists. Prune removes only registrations of worktrees that are gone:
    the ones the list marks ``prunable``, and administrative folders git cannot read, which
    the list leaves out. So prune changes nothing the add sees when no entry is prunable
    and no folder of this path's name is in ``worktrees/`` (an unreadable one there would
    have been pruned and its name reused). Otherwise, or when the git dir is unknown, it
    matters: it runs as it always did. Reads one directory entry."""
    if any("prunable" in entry for entry in entries):
        return True
    dirs = git_dirs(repo)
    return dirs is None or os.path.lexists(dirs.common / "worktrees" / path.name)


def _add(repo: Path, path: Path, branch: str, start: Callable[[], tuple[str, str] | None],
         branch_exists: bool | None = None, prune: bool = True) -> None:
    """``branch_exists``: what the caller's inspection just found (only ``worktree prune``,
    which never deletes a branch, runs before it is used); None: asked here. ``prune``:
    False when the inspection found that pruning changes nothing for this add
    (:func:`prune_matters`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and not any(path.iterdir()):
        path.rmdir()
    if prune:
        git_ok(repo, "worktree", "prune")
    if branch_exists is None:
        branch_exists = rev_parse(repo, f"refs/heads/{branch}") is not None
    if not branch_exists:
        _restore_branch(repo, branch, start)
    # Registered first, checked out second: a kill in between (as one inside git's own add)
    # leaves a worktree with no index and no files, which :func:`diagnose` recreates.
    git(repo, "worktree", "add", "--no-checkout", str(path), branch)
    faults.point("worktree:registered")
    git(path, "reset", "--quiet", "--hard", "HEAD")


def _restore_branch(repo: Path, branch: str,
                    start: Callable[[], tuple[str, str] | None]) -> str:
    chosen = start()
    if chosen is None:
        raise WorkspaceError(f"the lane branch {branch} is gone and no copy of it is known "
                             "(no recorded session head, no remote branch, no PR head)")
    label, commit = chosen
    git(repo, "update-ref", f"refs/heads/{branch}", commit, "")
    return f"restored branch {branch} at {commit[:12]} from {label}"


#: The suffix, before a UTC time, of a broken worktree's folder kept by :func:`set_aside`.
SET_ASIDE = ".set-aside-"


#: What the kept folder's ``.git`` is renamed to (a number added while the name is taken).
GIT_SET_ASIDE = ".git.set-aside"


def _free(path: Path) -> Path:
    """``path``, or ``path-2``, ``path-3``… : the first name nothing stands at."""
    found, number = path, 1
    while os.path.lexists(found):
        number += 1
        found = path.with_name(f"{path.name}-{number}")
    return found


def beside_git(folder: Path) -> list[str]:
    """The names in ``folder`` other than its ``.git``: what a worktree holds that git may
    not account for. ``OSError`` as :func:`os.scandir` raises it (absent, not a folder)."""
    with os.scandir(folder) as entries:
        return [entry.name for entry in entries if entry.name != ".git"]


def aside_target(path: Path) -> Path | None:
    """Where :func:`set_aside` would move the folder at ``path`` (``<path>.set-aside-<UTC
    time>``), or None when it would leave it: absent, a link, or holding nothing besides
    its ``.git`` file (a dead ``git worktree add --no-checkout`` holds only that). A
    ``.git`` folder is a repository of its own, never a linked worktree's: it is kept."""
    try:
        held = beside_git(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    if path.is_symlink() or not (held or (path / ".git").is_dir()):
        return None
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    return _free(path.with_name(f"{path.name}{SET_ASIDE}{stamp}"))


def set_aside(path: Path, target: Path | None = None) -> Path | None:
    """Move the folder at ``path`` to ``target`` (default :func:`aside_target`) and return
    it; None when there is nothing to keep.

    A worktree git no longer knows, or whose ``HEAD`` or index is gone, is added again at
    ``path``; deleting it first lost whatever the agent or a person had not committed.
    Its ``.git`` becomes ``.git.set-aside`` first, then the folder moves: the worktree added
    again reuses the administrative folder's name, and git run in the kept folder would
    act on the new lane's index and branch; a kill between the two leaves a folder git
    cannot use, which the next heal sets aside (its ``.git.set-aside`` still says whose it
    is), never a kept folder that acts on the lane."""
    target = target or aside_target(path)
    if target is None:
        return None
    if os.path.lexists(path / ".git"):
        os.rename(path / ".git", _free(path / GIT_SET_ASIDE))
    os.rename(path, target)
    return target


def clear_stale_locks(repo: Path, path: Path, branch: str) -> list[str]:
    """Remove git lock files only this lane can have left: its worktree's ``index.lock``
    and ``HEAD.lock`` and its branch's ref lock. git's locks are plain files, so a process
    killed mid-command (``git add`` in a killed agent) leaves them and every later commit
    in the lane fails; the caller holds the lane's lease and no session is running, so no
    live git can own them. Returns the removed paths."""
    removed: list[str] = []
    repo_dirs = git_dirs(repo)
    if repo_dirs is None:
        return removed
    common = repo_dirs.common
    candidates: list[Path] = [common / "refs" / "heads" / f"{branch}.lock"]
    admin = linked_here(path, repo)  # never the locks of a folder its .git was pointed at
    if admin is not None:
        candidates += [admin / "index.lock", admin / "HEAD.lock"]
    for lock in candidates:
        try:
            lock.unlink()
        except OSError:
            continue
        removed.append(str(lock))
    return removed


def heal(repo: Path, path: Path, branch: str,
         start: Callable[[], tuple[str, str] | None], rounds: int = 4,
         branch_exists: bool | None = None,
         report: Callable[[str], None] | None = None, made_here: bool = False) -> list[str]:
    """Act on :func:`diagnose` until the worktree is whole; returns what was done, in words.
    ``report`` hears each step as it happens: a folder set aside is named before it moves,
    so a kill right after never leaves kept files nobody was told of (breaker 26 M3).
    ``branch_exists``: the caller's fresh reading of the local lane branch, used by the
    first inspection only (every later one follows an action and reads git again).
    ``made_here``: the lane's record says maestro made its worktree at ``path``, so a
    folder there that git no longer knows, whatever its ``.git`` says, is set aside and
    the worktree added again, where a folder with no such record is refused.

    ``start`` is called only when the lane branch has to be created or restored; it returns
    ``(label, commit)`` or None. Raises :class:`WorkspaceError` when the worktree cannot be
    made whole (a foreign folder, another branch checked out, nothing to restore from).

    The repository's git dirs are asked once for the whole healing (:func:`held`): only
    maestro's own git runs in it, and none of it moves them."""
    done: list[str] = []

    def told(step: str) -> None:
        done.append(step)
        if report is not None:
            report(step)

    with held(repo):
        _heal(repo, path, branch, start, rounds, branch_exists, told, made_here)
    return done


def _heal(repo: Path, path: Path, branch: str, start: Callable[[], tuple[str, str] | None],
          rounds: int, branch_exists: bool | None, told: Callable[[str], None],
          made_here: bool) -> None:
    for lock in clear_stale_locks(repo, path, branch):
        told(f"removed a stale lock: {lock}")
    for _ in range(rounds):
        facts = inspect(repo, path, branch, branch_exists, made_here)
        branch_exists = None
        verdict = diagnose(facts, branch)
        if verdict.action == "whole":
            return
        if verdict.action == "refuse":
            raise WorkspaceError(f"{path}: {verdict.reason}")
        if verdict.action == "unregister_elsewhere" and facts.elsewhere:
            discard(repo, Path(facts.elsewhere))
        elif verdict.action == "create":
            _add(repo, path, branch, start, facts.branch_exists, facts.prune_matters)
            # Whole by construction (issue #16: four git reads less per lane): the add
            # registered the folder on the branch and checked out every file, or raised.
            # Nothing stood at the path to go wrong, unlike after a recreate.
            if verdict.reason != NO_WORKTREE:
                told(f"{verdict.action}: {verdict.reason}")
            return
        elif verdict.action == "recreate":
            # Whatever holds more than its .git is kept, a dead add's included: its lock
            # file is one the agent can write (breaker 26 L6).
            target = aside_target(path)
            if target is not None:
                told(f"set aside the broken worktree's files at {target}: nothing in it "
                     "was deleted; look there for work that was never committed")
                set_aside(path, target)
            discard(repo, path)
            _add(repo, path, branch, start)
        elif verdict.action == "restore_branch":
            told(_restore_branch(repo, branch, start))
            continue
        elif verdict.action == "restore_files":
            for i in range(0, len(facts.missing), 200):
                git(path, "checkout", "HEAD", "--", *facts.missing[i:i + 200])
        if verdict.reason != NO_WORKTREE:
            told(f"{verdict.action}: {verdict.reason}")
    facts = inspect(repo, path, branch)
    verdict = diagnose(facts, branch)
    if verdict.action != "whole":
        raise WorkspaceError(f"{path}: still not whole after healing: {verdict.reason}")
