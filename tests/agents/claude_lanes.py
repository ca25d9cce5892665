"""Shared set-up for the whole-lane tests whose agent runs Claude Code against the loopback
Anthropic server (``fake_anthropic.py``): the ``claude-code`` and the ``acp`` transports."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from .fake_anthropic import FakeAnthropic, serve
from .helpers import configure_service

#: What Claude Code needs from the operator's environment: the model server, a key, and its
#: own state folder (a resume needs the same one).
PASSTHROUGH = ["ANTHROPIC_BASE_URL", "ANTHROPIC_API_KEY", "CLAUDE_CONFIG_DIR",
               "CLAUDE_CODE_MAX_RETRIES"]
#: Credentials in the lane's environment that must never reach the agent or its MCP server.
SECRETS = {"GITHUB_TOKEN": "ghp_claude_1", "LINEAR_API_KEY": "lin_claude_2",
           "AWS_SECRET_ACCESS_KEY": "aws_claude_3"}


def mcp(name: str) -> str:
    """The name Claude Code gives maestro's MCP tool ``name``."""
    return f"mcp__maestro__{name}"


def dump_envs(folder: Path) -> str:
    """A shell step writing the agent's environment to ``folder`` (its MCP server's is read
    by the test itself: ``fake_anthropic.observing``)."""
    return f"env -0 > {folder}/agent.env"


def agent_env(model: FakeAnthropic, tmp_path: Path) -> dict[str, str]:
    """The operator's environment for a lane: the secrets, what :data:`PASSTHROUGH` lets
    through, and an empty ``HOME`` of the test's own.

    The home is the test's because Claude Code's Bash tool sources ``~/.bashrc`` before each
    command: with the machine's home, a lane test ran the machine's start-up files (a
    ``pyenv rehash`` whose lock, left by an agent killed mid-rehash, held every later Bash
    call for 60 s, so unrelated tests ended ``stalled``)."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {**SECRETS, "HOME": str(home),
            "ANTHROPIC_BASE_URL": model.base_url, "ANTHROPIC_API_KEY": "sk-test",
            "CLAUDE_CONFIG_DIR": str(tmp_path / "claude-config"),
            "CLAUDE_CODE_MAX_RETRIES": "0"}


def run_lane(sandbox: Any, transport: str, command: Path, model: FakeAnthropic,
             tmp_path: Path, issue: str, **keys: Any) -> subprocess.CompletedProcess[str]:
    """One ``maestro lane ISSUE`` with the agent ``command`` over ``transport``, while the
    model server answers; ``keys`` are further ``[agent]`` keys."""
    with serve(model):
        configure_service(sandbox.repo, agent={
            "command": str(command), "transport": transport, "env_passthrough": PASSTHROUGH,
            **keys})
        proc: subprocess.CompletedProcess[str] = sandbox.lane(
            issue, timeout=240, env=agent_env(model, tmp_path))
        return proc


def processes_in(folder: Path) -> list[str]:
    """Command lines of the processes whose working folder is ``folder``."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if Path(os.readlink(proc / "cwd")) == folder:
                raw = (proc / "cmdline").read_bytes()
                found.append(raw.replace(b"\0", b" ").decode(errors="replace"))
        except OSError:
            continue
    return found


def sigterm_mid_turn(sandbox: Any, transport: str, command: Path, model: FakeAnthropic,
                     tmp_path: Path, issue: str) -> None:
    """Start ``maestro lane ISSUE``, wait until the agent asks the (stalled) model, then send
    the lane SIGTERM and wait for it to exit."""
    with serve(model):
        configure_service(sandbox.repo, agent={
            "command": str(command), "transport": transport, "env_passthrough": PASSTHROUGH})
        lane = subprocess.Popen(
            [sys.executable, "-m", "maestro", "lane", issue, "--quiet"], cwd=sandbox.repo,
            env={**os.environ, **agent_env(model, tmp_path)},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(1200):  # the agent is waiting on the model: mid-turn
                if model.requests or lane.poll() is not None:
                    break
                time.sleep(0.1)
            assert model.requests, "the agent never asked the model"
            lane.send_signal(signal.SIGTERM)
            lane.wait(timeout=60)
        finally:
            if lane.poll() is None:
                lane.kill()


def kill_ancestor(head: str, tail: str) -> str:
    """A shell step that kills -9 the nearest ancestor whose command line holds
    ``head + tail`` (the agent's own ``claude`` or adapter: a runaway or hostile agent).
    The pattern is given in two parts so that the shell's own command line, which holds
    the step, does not match it."""
    return (f"p=$PPID; while [ \"$p\" -gt 1 ]; do if tr '\\0' ' ' < /proc/$p/cmdline | "
            f"grep -q -- \"{head}\"\"{tail}\"; then kill -9 $p; break; fi; "
            "p=$(awk '{print $4}' /proc/$p/stat); done; sleep 5")
