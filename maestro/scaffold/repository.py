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

#: What maestro writes that must never be committed: the state root, the lane worktrees,
#: and the files tracker's lock file (it sits in the issues folder, beside tracked files).
GITIGNORE_LINES = [".maestro/", ".worktrees/", ".maestro-tracker.lock"]


def default_branch(root: Path, remote: str = "origin") -> str:
    """The branch lanes should start from: ``remote``'s default branch as the clone
    recorded it (``refs/remotes/origin/HEAD``), else the branch checked out (even one
    without commits yet), else ``main``. Reads the repository only; no network."""
    from maestro.git import git

    recorded = git(root, "symbolic-ref", "--quiet", "--short", f"refs/remotes/{remote}/HEAD",
                   check=False)
    if recorded.startswith(f"{remote}/"):
        return recorded.removeprefix(f"{remote}/")
    return git(root, "symbolic-ref", "--quiet", "--short", "HEAD", check=False) or "main"


def next_steps(base: str) -> list[tuple[str, str]]:
    """What to run after ``maestro init``: (command line, what it is for) pairs."""
    return [
        ("git add -A && git commit -m 'Set up maestro' && git push",
         f"lanes start from origin/{base}"),
        ("maestro doctor", "check git, origin, the agent and the tracker"),
        ("maestro issue new --title 'Fix the typo' --body 'In README.md'", "a first issue"),
        ("maestro run --once", "one tick (or: maestro daemon)"),
        ("maestro status", "what every lane is doing"),
    ]


def init_repository(root: Path, prefix: str = "MAE", base: str | None = None,
                    validation: list[str] | None = None, force: bool = False) -> list[Path]:
    """Write the files maestro needs; existing files are kept unless ``force``. ``base``
    defaults to :func:`default_branch`."""
    if not (root / ".git").exists():
        raise InputError(f"{root}: not a git repository (run `git init` first)")
    import json

    base = base or default_branch(root)

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
