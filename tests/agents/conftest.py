"""Fixtures for the agent tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import find_claude, find_claude_acp, find_codex


def _installed(found: Path | None, missing: str, name: str, package: str) -> Path:
    """``found``, or a skip that says how to get the agent."""
    if found is None:
        pytest.skip(f"{missing}: `{name}` is neither on PATH nor in .ci/node/node_modules/.bin "
                    f"(run .ci/run, or npm install {package})")
    return found


@pytest.fixture
def codex() -> Path:
    """The real codex binary, or a skip that says how to get it."""
    return _installed(find_codex(), "the real codex is not installed", "codex",
                      "@openai/codex")


@pytest.fixture
def claude() -> Path:
    """The real Claude Code binary, or a skip that says how to get it."""
    return _installed(find_claude(), "the real Claude Code is not installed", "claude",
                      "@anthropic-ai/claude-code")


@pytest.fixture
def claude_acp() -> Path:
    """The Claude ACP adapter (an ACP agent), or a skip that says how to get it."""
    return _installed(find_claude_acp(), "no ACP agent installed", "claude-agent-acp",
                      "@agentclientprotocol/claude-agent-acp")
