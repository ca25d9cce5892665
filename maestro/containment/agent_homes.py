"""The agent programs' own configuration that makes them run programs, read-only in the
sandbox.

Every lane's agent reads the same home: Claude Code's ``$CLAUDE_CONFIG_DIR`` (else
``~/.claude``) and Codex's ``$CODEX_HOME`` (else ``~/.codex``). What is configured there
runs in *every* later agent process, each inside its own lane's sandbox: a hook in Claude's
``settings.json`` (``SessionStart``, ``PreToolUse``…), a plugin, a ``notify`` program or an
MCP server in Codex's ``config.toml``. An agent that wrote one would run its code in the
next lane, on another issue, committing into that lane's pull request. The bubblewrap
sandbox keeps the home folder writable (sessions, caches, shell snapshots live there), so
these files and folders are bound read-only over it (:func:`behaviour_paths`), and the
file that holds hooks is created first when absent (``{}``, an empty TOML), since a
missing file cannot be bound.

Not covered: a file of these homes not listed here that the agent creates (the list names
those known to run programs or give instructions; the programs add others), the user's
own configuration elsewhere in the home that later agents read (``~/.gitconfig``, shell
start-up files), the sessions themselves (a lane's agent could edit another lane's session
history, which that lane reads when it resumes), and anything without the sandbox, where
the agent can write every file its user can (docs/spec/security.md, known limits).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

#: Per agent: (the variable naming its home, the folder under ``HOME`` otherwise, the files
#: created when absent with their empty content, the other paths bound when they exist).
HOMES: dict[str, tuple[str, str, tuple[tuple[str, str], ...], tuple[str, ...]]] = {
    "claude": ("CLAUDE_CONFIG_DIR", ".claude", (("settings.json", "{}\n"), ("CLAUDE.md", "")),
               ("settings.local.json", "commands", "agents", "skills", "hooks", "plugins",
                "output-styles", "rules")),
    # Codex loads $CODEX_HOME/.env into its own environment (BASH_ENV, GIT_EXEC_PATH…)
    "codex": ("CODEX_HOME", ".codex", (("config.toml", ""), (".env", ""), ("AGENTS.md", "")),
              ("AGENTS.override.md", "hooks.json", "requirements.toml", "prompts", "skills",
               "agents", "rules", "plugins")),
}


def agent_home(agent: str, env: Mapping[str, str]) -> Path | None:
    """Where ``agent`` (``claude`` or ``codex``) reads its configuration with ``env`` (the
    agent's environment); None without a ``HOME`` or a variable naming the home."""
    variable, folder, _, _ = HOMES[agent]
    named = env.get(variable)
    if named:
        return Path(named).expanduser()
    home = env.get("HOME")
    return Path(home) / folder if home else None


def homes_env(passthrough: Iterable[str], environ: Mapping[str, str] | None = None
              ) -> dict[str, str]:
    """What of maestro's environment (``environ``) locates the agent programs' homes in the
    agent's: ``HOME`` and ``CODEX_HOME`` (always passed), ``CLAUDE_CONFIG_DIR`` when the
    operator passes it (``passthrough``: ``[agent] env_passthrough``)."""
    names = {"HOME", "CODEX_HOME"} | ({"CLAUDE_CONFIG_DIR"} & set(passthrough))
    source = os.environ if environ is None else environ
    return {name: value for name, value in source.items() if name in names and value}


def mount_points(env: Mapping[str, str]) -> list[Path]:
    """The home folder and the agent programs' homes: bound over themselves (writable) in
    the sandbox, they become mount points, which no agent can rename away to put a folder
    of its own in their place."""
    found = [Path(env["HOME"])] if env.get("HOME") else []
    found += [home for agent in HOMES if (home := agent_home(agent, env)) is not None]
    return list(dict.fromkeys(found))


def behaviour_paths(env: Mapping[str, str], agents: Iterable[str] = tuple(HOMES)
                    ) -> list[Path]:
    """The paths of ``agents``' homes to bind read-only: the files that run programs or
    give instructions in every later agent (created empty when absent, since a missing
    file cannot be bound; a home that does not exist is created with them, so an agent
    cannot create it either) and every other listed path that exists."""
    found: list[Path] = []
    for agent in agents:
        home = agent_home(agent, env)
        if home is None:
            continue
        _, _, made, others = HOMES[agent]
        for name, empty in made:
            path = home / name
            with contextlib.suppress(OSError):
                home.mkdir(parents=True, exist_ok=True)
                if not path.exists():
                    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                    with os.fdopen(fd, "w") as handle:
                        handle.write(empty)
            if path.is_file():
                found.append(path)
        found += [home / other for other in others if (home / other).exists()]
    return found
