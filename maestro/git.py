"""Short git calls through ``sh``, each in the hardened environment of
:mod:`maestro.containment.gitguard`.

Every call maestro makes runs with hooks off and the repository's program-naming config
disarmed (the agent can write that config), and with a git identity that always works.
"""

from __future__ import annotations

from pathlib import Path

import sh

from maestro.containment.gitguard import git_env as _guarded_env
from maestro.errors import WorkspaceError


def git_env(cwd: Path | None = None) -> dict[str, str]:
    """The environment for one maestro git process in ``cwd``
    (see :mod:`~maestro.containment.gitguard`)."""
    return _guarded_env(cwd)


def git(cwd: Path, *args: str, check: bool = True) -> str:
    """Run git in ``cwd``; return stripped stdout; a failure names the command and git's words."""
    try:
        out = sh.git(*args, _cwd=str(cwd), _env=git_env(cwd), _tty_out=False)
    except sh.ErrorReturnCode as exc:
        if not check:
            return ""
        stderr = exc.stderr.decode(errors="replace").strip()
        raise WorkspaceError(f"git {' '.join(args)} failed in {cwd}: {stderr}") from None
    return str(out).strip()


def git_ok(cwd: Path, *args: str) -> bool:
    try:
        sh.git(*args, _cwd=str(cwd), _env=git_env(cwd), _tty_out=False)
        return True
    except sh.ErrorReturnCode:
        return False


def rev_parse(cwd: Path, ref: str) -> str | None:
    try:
        return str(
            sh.git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", _cwd=str(cwd),
                   _env=git_env(cwd), _tty_out=False)
        ).strip() or None
    except sh.ErrorReturnCode:
        return None


def remote_url(repo: Path, remote: str) -> str:
    return git(repo, "remote", "get-url", remote)


def _is_relative_path_url(url: str) -> bool:
    """``../origin.git`` or ``origin.git``, not ``/abs``, ``scheme://`` or ``host:path``."""
    if not url or "://" in url or Path(url).is_absolute():
        return False
    head = url.split("/", 1)[0]
    return ":" not in head


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
