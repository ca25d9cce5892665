"""Fixtures for the agent tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import find_claude, find_claude_acp, find_codex


@pytest.fixture
def codex() -> Path:
    """The real codex binary, or a skip that says how to get it."""
    found = find_codex()
    if found is None:
        pytest.skip("the real codex is not installed: `codex` is neither on PATH nor in "
                    ".ci/node/node_modules/.bin (run .ci/run, or npm install @openai/codex)")
    return found


@pytest.fixture
def claude() -> Path:
    """The real Claude Code binary, or a skip that says how to get it."""
    found = find_claude()
    if found is None:
        pytest.skip("the real Claude Code is not installed: `claude` is neither on PATH nor in "
                    ".ci/node/node_modules/.bin (run .ci/run, or npm install "
                    "@anthropic-ai/claude-code)")
    return found


@pytest.fixture
def claude_acp() -> Path:
    """The Claude ACP adapter (an ACP agent), or a skip that says how to get it."""
    found = find_claude_acp()
    if found is None:
        pytest.skip("no ACP agent installed: `claude-agent-acp` is neither on PATH nor in "
                    ".ci/node/node_modules/.bin (run .ci/run, or npm install "
                    "@agentclientprotocol/claude-agent-acp)")
    return found
