"""Which agent reads maestro's shipped assets where: the target of ``maestro assets install``.

The skills are one format for every agent that reads skills (a folder with a ``SKILL.md``
of YAML front matter and instructions), but each agent looks in its own home:

- Codex (``app-server``) reads ``$CODEX_HOME/skills/`` (else ``~/.codex``), and its agent
  roles from ``agents/*.toml`` there (:func:`maestro.assets.shipped.install`);
- Claude Code (``claude-code``, and ``acp`` when the agent is Claude's ACP adapter, which
  runs Claude Code inside) reads user skills from ``$CLAUDE_CONFIG_DIR/skills/`` (else
  ``~/.claude/skills/``). The Codex roles are Codex's TOML format, so they are not copied.

Any other ACP agent has no known place to read skills from: installing for it is an error
that says to name the agent instead.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Literal

from maestro.assets.shipped import (
    AssetsError,
    assets_root,
    check_installable,
    install,
    replace_tree,
    skill_dirs,
)

AssetAgent = Literal["codex", "claude"]
AGENTS: tuple[AssetAgent, ...] = ("codex", "claude")
#: The command the acp transport runs when none is configured (maestro.cli's probe default).
CLAUDE_ACP = "claude-agent-acp"


def agent_for(transport: str, command: str | None) -> AssetAgent:
    """The agent whose home the configured ``transport`` (and ``[agent] command``, ``None``
    when left at the scripted default) reads assets from; :class:`AssetsError` for an ACP
    agent other than Claude's adapter."""
    if transport == "claude-code":
        return "claude"
    if transport == "acp":
        program = Path(shlex.split(command)[0]).name if command else CLAUDE_ACP
        if program == CLAUDE_ACP:
            return "claude"
        raise AssetsError(
            f"[agent] command: no known skills folder for the ACP agent {program!r}; "
            "pass `maestro assets install --agent codex|claude` for the agent it runs")
    return "codex"


def default_home(agent: AssetAgent) -> Path:
    """The folder ``agent`` reads user assets from: ``$CODEX_HOME`` or ``~/.codex`` for
    Codex, ``$CLAUDE_CONFIG_DIR`` or ``~/.claude`` for Claude Code."""
    variable, folder = {"codex": ("CODEX_HOME", ".codex"),
                        "claude": ("CLAUDE_CONFIG_DIR", ".claude")}[agent]
    configured = os.environ.get(variable)
    return Path(configured).expanduser() if configured else Path.home() / folder


def install_claude(claude_home: Path, root: Path | None = None) -> list[Path]:
    """Copy the skills to ``<claude_home>/skills/<name>/``; returns what was written.

    Running it again replaces maestro's copies and nothing else; broken assets are refused
    as for Codex.
    """
    root = root or assets_root()
    problems = check_installable(root)
    if problems:
        raise AssetsError("refusing to install broken assets:\n" +
                          "\n".join(f"  {p}" for p in problems))
    written = []
    for skill in skill_dirs(root):
        target = claude_home / "skills" / skill.name
        replace_tree(skill, target)
        written.append(target)
    return written


def install_for(agent: AssetAgent, home: Path | None = None,
                root: Path | None = None) -> list[Path]:
    """Install what ``agent`` reads into ``home`` (default: :func:`default_home`)."""
    home = home or default_home(agent)
    return install(home, root) if agent == "codex" else install_claude(home, root)
