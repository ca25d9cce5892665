"""Helpers for the agent tests: finding the real codex, and setting ``[agent]`` keys."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
#: Where ``.ci/run`` installs the npm agents.
CI_BIN = REPO_ROOT / ".ci" / "node" / "node_modules" / ".bin"

#: Small timeouts keep failure tests fast; they are generous for a healthy scripted agent.
FAST_AGENT = {"idle_timeout_s": 20.0, "turn_timeout_s": 60.0, "response_timeout_s": 20.0,
              "startup_timeout_s": 20.0}


def find_agent(name: str) -> Path | None:
    """The real agent executable ``name``: on PATH, else where ``.ci/run`` installs it."""
    found = shutil.which(name)
    if found:
        return Path(found)
    return CI_BIN / name if (CI_BIN / name).exists() else None


def find_codex() -> Path | None:
    return find_agent("codex")


def find_claude() -> Path | None:
    return find_agent("claude")


def find_claude_acp() -> Path | None:
    """The Claude ACP adapter."""
    return find_agent("claude-agent-acp")


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
