"""Short git calls, each a plain subprocess in the hardened environment of
:mod:`maestro.containment.gitguard`.

Every call maestro makes runs with hooks off and the repository's program-naming config
disarmed (the agent can write that config), and with a git identity that always works.

A lane makes dozens of these calls, so they are plain :func:`subprocess.run` calls rather
than ``sh`` (measured 2.1 ms against 8.5 ms a call; ``bench/bench_lane_git.py``), and git's
automatic maintenance is off in them (``maintenance.auto=false``): a ``fetch`` would
otherwise spawn ``git maintenance run --auto`` every time. maestro runs it once where it
belongs instead (:func:`auto_maintenance`, after a lane's clean-up and a local merge).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from urllib.parse import urlparse

from maestro.containment.exec_path import find_program
from maestro.containment.gitguard import git_env as _guarded_env
from maestro.errors import WorkspaceError
from maestro.git import reader

#: Command-line config on every maestro git call: no automatic maintenance per command.
NO_AUTO_MAINTENANCE: tuple[tuple[str, str], ...] = (("maintenance.auto", "false"),)


def git_env(cwd: Path | None = None, extra: Iterable[tuple[str, str]] = ()) -> dict[str, str]:
    """The environment for one maestro git process in ``cwd``
    (see :mod:`~maestro.containment.gitguard`), with automatic maintenance off, then
    ``extra`` config (e.g. the forge token's auth header for one push)."""
    return _guarded_env(cwd, [*NO_AUTO_MAINTENANCE, *extra])


def run_git(cwd: Path, args: Sequence[str], stdin: str | None = None
            ) -> subprocess.CompletedProcess[str]:
    """One git process in ``cwd``: text output (undecodable bytes replaced), stdin closed
    unless ``stdin`` is given; never raises for git's exit code. ``OSError`` (no git) is
    raised as :class:`WorkspaceError`."""
    env = git_env(cwd)
    try:
        return subprocess.run([git_program(env), *args], cwd=cwd, env=env, input=stdin,
                              stdin=None if stdin is not None else subprocess.DEVNULL,
                              capture_output=True, text=True, errors="replace", check=False)
    except OSError as exc:
        hint = ("; maestro runs no git from the home or temporary folders, where an agent "
                "can write (docs/spec/security.md)" if isinstance(exc, FileNotFoundError)
                else "")
        raise WorkspaceError(f"git {' '.join(args)} could not start in {cwd}: {exc}{hint}"
                             ) from None


def git_program(env: Mapping[str, str]) -> str:
    """git's absolute path along ``env``'s ``PATH`` (already cut to absolute entries by
    the guarded environment): one lookup per process instead of an ``execve`` per ``PATH``
    entry on each call; plain ``git`` when it is not found, so the caller's "could not
    start" error stays."""
    return find_program("git", env.get("PATH")) or "git"


def git(cwd: Path, *args: str, check: bool = True) -> str:
    """Run git in ``cwd``; return stripped stdout; a failure names the command and git's words."""
    proc = run_git(cwd, args)
    if proc.returncode != 0:
        if not check:
            return ""
        raise WorkspaceError(f"git {' '.join(args)} failed in {cwd}: {proc.stderr.strip()}")
    return proc.stdout.strip()


def git_ok(cwd: Path, *args: str) -> bool:
    return run_git(cwd, args).returncode == 0


def remove_ref(cwd: Path, ref: str, *args: str) -> None:
    """Run ``git *args``, a command that deletes ``ref`` (``branch -D``, ``update-ref -d``);
    a ref already gone is fine. Raises as :func:`git` does when git fails and ``ref`` still
    names a commit.

    One process where asking first and deleting after is two: the look before guarded no
    value (both commands delete whatever the ref names), only its presence, and a failure
    asks it still."""
    proc = run_git(cwd, args)
    if proc.returncode != 0 and rev_parse(cwd, ref) is not None:
        raise WorkspaceError(f"git {' '.join(args)} failed in {cwd}: {proc.stderr.strip()}")


def rev_parse(cwd: Path, ref: str) -> str | None:
    """The commit ``ref`` names in ``cwd``, or None when it names none (asked of the
    folder's long-lived reader, :mod:`maestro.git.reader`, when the name can be)."""
    if _askable(ref):
        return rev_parse_many(cwd, [ref])[ref]
    return _rev_parse_once(cwd, ref)


def head_of(cwd: Path) -> str:
    """The commit ``HEAD`` names in ``cwd``; :class:`WorkspaceError` with git's words when
    it names none (asked again of a process of its own, for those words)."""
    return rev_parse(cwd, "HEAD") or git(cwd, "rev-parse", "HEAD")


def head_and_tree(cwd: Path) -> tuple[str, str]:
    """``HEAD``'s commit and tree in ``cwd``, from one look; :class:`WorkspaceError` as
    :func:`head_of`."""
    lines = _batch_check(cwd, ["HEAD^{commit}", "HEAD^{tree}"])
    if lines is not None:
        (head, _, head_kind), (tree, _, tree_kind) = (line.partition(" ") for line in lines)
        if head_kind == "commit" and tree_kind == "tree":
            return head, tree
    head, tree = git(cwd, "rev-parse", "HEAD", "HEAD^{tree}").split("\n")
    return head, tree


def _rev_parse_once(cwd: Path, ref: str) -> str | None:
    if "\0" in ref:
        return None  # no git name holds one (and no argument can carry it)
    return git(cwd, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False) or None


#: A name that starts with an abbreviated object id: git resolves it against the objects
#: it has, which a long-lived process caches (breaker 30 F6), so it is asked of a new one.
_ABBREVIATED = re.compile(r"[0-9a-fA-F]{4,39}(?![0-9a-fA-F])")


def _askable(name: str) -> bool:
    """A name ``cat-file --batch-check`` reads as written: one line, no outer spaces, no
    NUL (where git's string would end: ``main\\0x`` would be read as ``main``)."""
    return bool(name) and "\n" not in name and "\0" not in name and name.strip() == name


def rev_parse_many(cwd: Path, refs: Iterable[str]) -> dict[str, str | None]:
    """The commit each of ``refs`` names in ``cwd`` (None where it names none), answered by
    the folder's long-lived ``cat-file --batch-check`` (:mod:`maestro.git.reader`), else by
    ONE such process for all of them.

    A name that holds a newline or a NUL cannot be asked this way and maps to None; one
    that starts with an abbreviated object id is asked of a new process."""
    names = list(dict.fromkeys(refs))
    asked = [n for n in names if _askable(n)]
    result: dict[str, str | None] = dict.fromkeys(names)
    if not asked:
        return result
    questions = [f"{n}^{{commit}}" for n in asked]
    abbreviated = any(_ABBREVIATED.match(n) for n in asked)
    lines = None if abbreviated else _batch_check(cwd, questions)
    if lines is None:
        proc = run_git(cwd, ["cat-file", reader.FORMAT],
                       stdin="".join(f"{q}\n" for q in questions))
        lines = proc.stdout.splitlines()
        if proc.returncode != 0 or len(lines) != len(asked):
            # git refused the batch: ask one by one
            return {n: _rev_parse_once(cwd, n) for n in names}
    for name, line in zip(asked, lines, strict=True):
        sha, _, kind = line.partition(" ")
        result[name] = sha if kind == "commit" else None
    return result


def _batch_check(cwd: Path, questions: Sequence[str]) -> list[str] | None:
    """``cat-file --batch-check`` answers from ``cwd``'s reader, or None (then the caller
    starts a process of its own). The guarded environment is built first, as for every
    git call, so its checks hold for the reader too."""
    env = git_env(cwd)
    return reader.ask(cwd, reader.location(cwd), git_program(env), env, questions)


def listed_head(ls_remote_output: str, branch: str) -> str | None:
    """The commit ``git ls-remote`` printed for exactly ``refs/heads/BRANCH``, or None."""
    wanted = f"refs/heads/{branch}"
    for line in ls_remote_output.splitlines():
        sha, _, ref = line.partition("\t")
        if ref.strip() == wanted and sha.strip():
            return sha.strip()
    return None


def remote_url(repo: Path, remote: str) -> str:
    return git(repo, "remote", "get-url", remote)


def auto_maintenance(repo: Path, gc: bool = False) -> bool:
    """Let git pack ``repo`` if it needs it (``git maintenance run --auto``, or ``git gc
    --auto`` for a bare origin), in the foreground so nothing outlives the caller.

    maestro's own calls turn git's per-command auto-maintenance off; this is the one place
    it runs instead. Cheap (a few ms) when there is nothing to do. Returns git's success."""
    args = ["gc", "--auto", "--quiet"] if gc else ["maintenance", "run", "--auto", "--quiet"]
    env = _guarded_env(repo, (("gc.autoDetach", "false"), ("maintenance.autoDetach", "false")))
    try:
        proc = subprocess.run(["git", *args], cwd=repo, env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, check=False)
    except OSError:
        return False
    return proc.returncode == 0


def _is_relative_path_url(url: str) -> bool:
    """``../origin.git`` or ``origin.git``, not ``/abs``, ``scheme://`` or ``host:path``."""
    if not url or "://" in url or Path(url).is_absolute():
        return False
    head = url.split("/", 1)[0]
    return ":" not in head


def local_url_path(repo_root: Path, url: str) -> Path | None:
    """The path a remote URL names on this machine (``/srv/x.git``, ``../x.git`` resolved
    from ``repo_root`` as git does, ``file:///srv/x.git``); None for a network URL
    (``scheme://``, ``host:path``) or an empty one. The path need not exist."""
    if url.startswith("file://"):
        url = urlparse(url).path
    elif not url or "://" in url or (":" in url.split("/", 1)[0] and not url.startswith("/")):
        return None
    return Path(url) if Path(url).is_absolute() else (repo_root / url).resolve()


def relative_remote_rewrites(repo_root: Path) -> dict[str, str]:
    """``url.<absolute>.insteadOf`` entries for every remote whose URL is a relative path.

    git resolves a relative remote URL against the current directory, and a lane worktree
    is not the repository root, so ``git fetch origin`` there would look for
    ``.worktrees/origin.git``. Given to a child's git as ``GIT_CONFIG_*`` entries, these
    make it resolve the URL as git does from the repository root."""
    listing = git(repo_root, "config", "--get-regexp", r"^remote\..*\.url$", check=False)
    rewrites: dict[str, str] = {}
    for line in listing.splitlines():
        _, _, url = line.partition(" ")
        if _is_relative_path_url(url):
            rewrites[f"url.{(repo_root / url).resolve()}.insteadOf"] = url
    return rewrites
