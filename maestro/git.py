"""Short git calls through ``sh``, with an identity that always works.

A fresh CI runner has no ``user.name``; commits made by maestro or its agents would fail, so
a neutral identity is supplied only when git has none configured.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import sh

from maestro.errors import WorkspaceError

IDENTITY = {
    "GIT_AUTHOR_NAME": "maestro",
    "GIT_AUTHOR_EMAIL": "maestro@localhost",
    "GIT_COMMITTER_NAME": "maestro",
    "GIT_COMMITTER_EMAIL": "maestro@localhost",
}


@functools.cache
def _has_identity() -> bool:
    try:
        sh.git("config", "--get", "user.email", _env=dict(os.environ))
        return True
    except sh.ErrorReturnCode:
        return False


def git_env(base: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    env.setdefault("GIT_TERMINAL_PROMPT", "0")
    if not _has_identity():
        for key, value in IDENTITY.items():
            env.setdefault(key, value)
    return env


def git(cwd: Path, *args: str, check: bool = True) -> str:
    """Run git in ``cwd``; return stripped stdout; a failure names the command and git's words."""
    try:
        out = sh.git(*args, _cwd=str(cwd), _env=git_env(), _tty_out=False)
    except sh.ErrorReturnCode as exc:
        if not check:
            return ""
        stderr = exc.stderr.decode(errors="replace").strip()
        raise WorkspaceError(f"git {' '.join(args)} failed in {cwd}: {stderr}") from None
    return str(out).strip()


def git_ok(cwd: Path, *args: str) -> bool:
    try:
        sh.git(*args, _cwd=str(cwd), _env=git_env(), _tty_out=False)
        return True
    except sh.ErrorReturnCode:
        return False


def rev_parse(cwd: Path, ref: str) -> str | None:
    try:
        return str(
            sh.git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", _cwd=str(cwd),
                   _env=git_env(), _tty_out=False)
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
