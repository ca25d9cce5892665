"""``maestro init``: make any git repository runnable with ``doit lane:ID``."""

from __future__ import annotations

from pathlib import Path

from maestro.errors import InputError
from maestro.fsutil import write_atomic

WORKFLOW_TEMPLATE = """\
+++
version = 1

[tracker]
provider = "files"
path = "issues"
issue_prefix = "{prefix}"

[execution]
max_attempts = 3
max_turns = 10
max_concurrent_agents = 2
validation_commands = {validation}

[forge]
provider = "local"
base_branch = "{base}"
merge_method = "merge"
+++
# How agents work in this repository

You are working on one issue in its own git worktree. Keep the change small and focused,
commit it on the lane branch, and hand it off for review with the maestro tools.
"""

CONFIG_TEMPLATE = """\
# maestro service configuration for this machine (see maestro.example.toml for every key).
id = "{project}"
repo_root = "."
workflow_path = "WORKFLOW.md"
workspace_root = ".worktrees"
state_root = ".maestro"

[agent]
# The scripted agent runs offline; use "codex app-server" for real work.
command = "python -m maestro.agents.scripted"
"""

DODO_TEMPLATE = '''\
"""doit entry point for maestro lanes: `doit lane:ID`, `doit list`."""

from maestro.pipeline import doit_namespace

globals().update(doit_namespace())
'''

GITIGNORE_LINES = [".maestro/", ".worktrees/"]


def init_repository(root: Path, prefix: str = "MAE", base: str = "main",
                    validation: list[str] | None = None, force: bool = False) -> list[Path]:
    """Write the files maestro needs; existing files are kept unless ``force``."""
    if not (root / ".git").exists():
        raise InputError(f"{root}: not a git repository (run `git init` first)")
    import json

    files = {
        root / "WORKFLOW.md": WORKFLOW_TEMPLATE.format(
            prefix=prefix, base=base, validation=json.dumps(validation or [])),
        root / "maestro.toml": CONFIG_TEMPLATE.format(project=_project_id(root)),
        root / "dodo.py": DODO_TEMPLATE,
    }
    written = []
    for path, text in files.items():
        if path.exists() and not force:
            continue
        write_atomic(path, text)
        written.append(path)
    issues = root / "issues"
    if not issues.exists():
        issues.mkdir()
        (issues / ".gitkeep").write_text("")
        written.append(issues)
    ignore = root / ".gitignore"
    current = ignore.read_text() if ignore.exists() else ""
    missing = [line for line in GITIGNORE_LINES if line not in current.splitlines()]
    if missing:
        ending = "" if not current or current.endswith("\n") else "\n"
        write_atomic(ignore, current + ending + "\n".join(missing) + "\n")
        written.append(ignore)
    return written


def _project_id(root: Path) -> str:
    import re

    name = re.sub(r"[^A-Za-z0-9_.-]", "-", root.resolve().name).strip("-.") or "maestro"
    return name if name[0].isalnum() else f"p{name}"
