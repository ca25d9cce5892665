"""Short git calls through ``sh``, each in the hardened environment of :mod:`maestro.gitguard`.

Every call maestro makes runs with hooks off and the repository's program-naming config
disarmed (the agent can write that config), and with a git identity that always works.
"""

from __future__ import annotations

from pathlib import Path

import sh

from maestro.errors import WorkspaceError
from maestro.gitguard import git_env as _guarded_env


def git_env(cwd: Path | None = None) -> dict[str, str]:
    """The environment for one maestro git process in ``cwd`` (see :mod:`maestro.gitguard`)."""
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
