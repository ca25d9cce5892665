"""Where ``maestro.toml`` is, and the four folders it names, without validating it.

:func:`~maestro.config.service.load_config` validates the whole file with pydantic, which
costs more than a finished lane's no-op run may (docs/performance.md "No-op lane run").
This module holds the part that needs no pydantic: the search order, a file's stat
signature, and the folders the file names, resolved exactly as
:meth:`ServiceConfig.resolved <maestro.config.service.ServiceConfig.resolved>` resolves
them. :mod:`maestro.lanes.noop` compares them with what a full load recorded; nothing here
is trusted on its own.
"""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path

from maestro.config.paths import expand_path
from maestro.fsutil import StatIdentity, stat_identity

__all__ = ["CONFIG_NAME", "candidate_paths", "file_signature", "find_config", "git_toplevel",
           "raw_roots"]

CONFIG_NAME = "maestro.toml"

#: A regular file's :class:`maestro.fsutil.StatIdentity`.
Signature = StatIdentity


def file_signature(path: Path) -> Signature | None:
    """The stat signature of a regular file, or None when it is absent or not a file."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    return stat_identity(info)


def git_toplevel(cwd: Path) -> Path | None:
    for folder in (cwd, *cwd.parents):
        if (folder / ".git").exists():
            return folder
    return None


def candidate_paths(cwd: Path) -> list[Path]:
    """Where the config is looked for, in order: ``./tmp/maestro.toml``, then
    ``maestro.toml`` in ``cwd`` and each parent up to the repository's top (so any
    subdirectory of a project finds it), then the user config dir."""
    user_dir = Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config")) / "maestro"
    top = git_toplevel(cwd)
    folders = [cwd] if top is None else [cwd, *cwd.parents[:len(cwd.relative_to(top).parts)]]
    return [cwd / "tmp" / CONFIG_NAME, *(f / CONFIG_NAME for f in folders),
            user_dir / CONFIG_NAME]


def find_config(explicit: Path | None, cwd: Path) -> Path | None:
    """The file :func:`~maestro.config.service.load_config` would read (None: the embedded
    defaults; an explicit path is returned as given, checked by the loader)."""
    if explicit is not None:
        return explicit
    for path in candidate_paths(cwd):
        if path.is_file():
            return path
    return None


def raw_roots(path: Path | None, cwd: Path) -> dict[str, str]:
    """``repo_root``, ``workflow_path``, ``workspace_root`` and ``state_root`` as the loader
    resolves them, read from the TOML without validating it.

    Raises ``OSError``, ``ValueError`` (bad TOML or text) or ``ConfigError`` (an unset
    ``$VAR``); callers treat any of them as "ask the full loader"."""
    data: dict[str, object] = {}
    if path is None:
        base = git_toplevel(cwd) or cwd
    else:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
        base = path.parent.resolve()
    where = str(path or CONFIG_NAME)

    def value(key: str, default: str) -> Path:
        raw = data.get(key, default)
        if not isinstance(raw, str):
            raise ValueError(f"{key} is not a string")
        return expand_path(raw, f"{where}: {key}")

    repo = (base / value("repo_root", ".")).resolve()
    return {"repo_root": str(repo),
            "workflow_path": str(repo / value("workflow_path", "WORKFLOW.md")),
            "workspace_root": str(repo / value("workspace_root", ".worktrees")),
            "state_root": str(repo / value("state_root", ".maestro"))}
