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

The user's own git configuration and existing shell start-up files are bound read-only
too (:func:`user_paths`): later agents' git and shell tools read them.

A path that is a symbolic link (dotfiles kept in a repository of their own) is bound at
its target: bwrap binds real paths, and the target's content is what the programs read.
The link itself stays in the writable home, so an agent can replace it with a file of its
own (a known limit).

Not covered: a file of these homes not listed here that the agent creates (the list names
those known to run programs or give instructions; the programs add others), a shell
start-up file the home did not have, other configuration in the home that later agents'
tools read (``~/.npmrc``, ``~/.config/pip``), the sessions themselves (a lane's agent
could edit another lane's session history, which that lane reads when it resumes), and
anything without the sandbox, where the agent can write every file its user can
(docs/spec/security.md, known limits).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path

from maestro.containment.private_tmp import LANE_STATE, private_folder

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
        return real(Path(named).expanduser())
    home = env.get("HOME")
    return real(Path(home) / folder) if home else None


def real(path: Path) -> Path:
    """``path`` with every symbolic link resolved (a dotfiles checkout often links
    ``~/.claude`` elsewhere): bwrap binds over real paths only."""
    return Path(os.path.realpath(path))


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
    found = [real(Path(env["HOME"]))] if env.get("HOME") else []
    found += [home for agent in HOMES if (home := agent_home(agent, env)) is not None]
    return list(dict.fromkeys(found))


#: The user's own configuration in the home that every later agent's tools read: git's
#: (``core.fsmonitor``, ``core.hooksPath`` run in the agent's git) and the interactive
#: shells' start-up files (Claude Code's Bash tool sources ``~/.bashrc``), made empty when
#: absent (an empty one changes nothing: git reads both places, a shell reads nothing),
#: and the login shells' files, bound when they exist (one made empty where none was
#: would hide ``~/.profile`` from a login shell, so an absent one stays a known limit).
USER_MADE = (".gitconfig", ".bashrc", ".zshrc")  # an empty one reads as none at all
USER_FOLDERS = (".config/git",)
USER_EXISTING = (".bash_profile", ".bash_login", ".profile", ".zshenv", ".zprofile",
                 ".bash_logout")


def user_paths(env: Mapping[str, str]) -> list[Path]:
    """The paths of :data:`USER_MADE`, :data:`USER_FOLDERS` (made when absent) and
    :data:`USER_EXISTING` under the agent's ``HOME``, to bind read-only."""
    home = env.get("HOME")
    if not home:
        return []
    root = real(Path(home))
    found: list[Path] = []
    with contextlib.suppress(OSError):
        for name in USER_MADE:
            if not (root / name).exists():
                os.close(os.open(root / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        for name in USER_FOLDERS:
            (root / name).mkdir(parents=True, exist_ok=True)
    for name in (*USER_MADE, *USER_FOLDERS, *USER_EXISTING):
        if (root / name).exists():
            found.append(real(root / name))  # a dotfile linked elsewhere: its target
    return found


#: Per agent, the folder of its home that every running session of that agent shares and
#: sources before each shell command: Claude Code's and Codex's shell snapshots. One lane's
#: agent that rewrote a snapshot ran its code in every other running lane.
SHELL_SNAPSHOTS = {"claude": "shell-snapshots", "codex": "shell_snapshots"}


def lane_state_folder(lane_folder: Path, identifier: str) -> Path:
    """This lane's own agent state, ``<tmp>/maestro-agent-state.<uid>/<identifier>-<key>``:
    ``key`` is a digest of the lane's folder (``lane_folder``), so two services of one user
    working the same issue number do not share it, and a resumed lane finds its own
    again."""
    key = hashlib.sha256(os.fsencode(os.path.realpath(lane_folder))).hexdigest()[:16]
    return private_folder(LANE_STATE) / f"{identifier}-{key}"


def forget_lane_state(lane_folder: Path, identifier: str) -> None:
    """Remove this lane's own agent state (:func:`lane_state_folder`) once the lane is
    cleaned up: one folder per lane ever run would otherwise pile up under the temporary
    folder. Never fails: a root that is not this user's private folder holds nothing of
    this lane's."""
    with contextlib.suppress(OSError):
        shutil.rmtree(lane_state_folder(lane_folder, identifier), ignore_errors=True)


def lane_state_binds(env: Mapping[str, str], state: Path) -> list[tuple[Path, Path]]:
    """``(source, target)`` binds that give this lane's agent a folder of its own where
    the agent programs share one across lanes (:data:`SHELL_SNAPSHOTS`), from ``state``
    (:func:`lane_state_folder`), whose root every sandbox binds read-only
    (:func:`~maestro.containment.operator_view.read_only_folders`)."""
    binds = []
    for agent, name in SHELL_SNAPSHOTS.items():
        home = agent_home(agent, env)
        if home is None:
            continue
        own, target = state / agent / name, home / name
        with contextlib.suppress(OSError):
            own.mkdir(parents=True, exist_ok=True)
            target.mkdir(parents=True, exist_ok=True)
        if own.is_dir() and target.is_dir():
            binds.append((own, target))
    return binds


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
                found.append(real(path))
        found += [real(home / other) for other in others if (home / other).exists()]
    return [*found, *user_paths(env)]
