"""Helpers for the agent tests: finding the real codex, and setting ``[agent]`` keys."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
CI_CODEX = REPO_ROOT / ".ci" / "node" / "node_modules" / ".bin" / "codex"
CI_CLAUDE = REPO_ROOT / ".ci" / "node" / "node_modules" / ".bin" / "claude"
CI_CLAUDE_ACP = REPO_ROOT / ".ci" / "node" / "node_modules" / ".bin" / "claude-agent-acp"

#: Small timeouts keep failure tests fast; they are generous for a healthy scripted agent.
FAST_AGENT = {"idle_timeout_s": 20.0, "turn_timeout_s": 60.0, "response_timeout_s": 20.0,
              "startup_timeout_s": 20.0}


def find_codex() -> Path | None:
    """The real codex: on PATH, else where ``.ci/run`` installs it."""
    found = shutil.which("codex")
    if found:
        return Path(found)
    return CI_CODEX if CI_CODEX.exists() else None


def find_claude() -> Path | None:
    """The real Claude Code: on PATH, else where ``.ci/run`` installs it."""
    found = shutil.which("claude")
    if found:
        return Path(found)
    return CI_CLAUDE if CI_CLAUDE.exists() else None


def find_claude_acp() -> Path | None:
    """The Claude ACP adapter: on PATH, else where ``.ci/run`` installs it."""
    found = shutil.which("claude-agent-acp")
    if found:
        return Path(found)
    return CI_CLAUDE_ACP if CI_CLAUDE_ACP.exists() else None


def _toml_value(value: Any) -> str:
    return json.dumps(value) if isinstance(value, (str, list)) else str(value)


def configure_service(repo: Path, agent: dict[str, Any] | None = None,
                      tracker: dict[str, Any] | None = None) -> None:
    """Rewrite ``maestro.toml``'s ``[agent]`` table (and optionally add ``[tracker]``).

    The sandbox's file ends with its ``[agent]`` table, so everything from that header on is
    replaced; keys not given keep the fast test defaults above.
    """
    path = repo / "maestro.toml"
    text = path.read_text()
    head, marker, _ = text.partition("\n[agent]\n")
    assert marker, "maestro.toml has no [agent] table"
    keys = {"command": "python -m maestro.agents.scripted", **FAST_AGENT, **(agent or {})}
    lines = [head.rstrip("\n"), "", "[agent]"]
    lines += [f"{key} = {_toml_value(value)}" for key, value in keys.items()]
    if tracker:
        lines += ["", "[tracker]"]
        lines += [f"{key} = {_toml_value(value)}" for key, value in tracker.items()]
    path.write_text("\n".join(lines) + "\n")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
