"""``maestro protocol probe`` checks the configured transport: for Claude Code it starts a
real headless turn with maestro's MCP tools, for an ACP agent it opens a session with them;
a failure names the check."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from maestro.agents.probes.claude_code import check_init
from maestro.agents.probes.common import ProbeFailed


def run_probe(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "maestro", "protocol", "probe", *args],
                          cwd=cwd, capture_output=True, text=True, timeout=180)


def test_the_configured_claude_transport_is_probed(tmp_path: Path) -> None:
    (tmp_path / "maestro.toml").write_text(
        '[agent]\ntransport = "claude-code"\ncommand = "/nonexistent/claude --model x"\n')
    proc = run_probe(tmp_path)
    assert proc.returncode == 1
    assert proc.stdout.strip() == (
        "PROBE_FAILED claude on PATH: '/nonexistent/claude' not found on PATH "
        "(install @anthropic-ai/claude-code or pass --claude CMD)")


INIT = {"mcp_servers": [{"name": "maestro", "status": "connected"}],
        "tools": ["Bash", *(f"mcp__maestro__{n}" for n in (
            "issue_comment", "issue_transition", "issue_label_add", "lane_open_pr",
            "issue_review_handoff", "issue_review_repair_complete", "issue_terminal_finalize"))],
        "permissionMode": "acceptEdits"}


@pytest.mark.parametrize(("change", "check"), [
    ({"mcp_servers": [{"name": "maestro", "status": "failed"}]}, "MCP tools connected"),
    ({"tools": ["Bash", "mcp__maestro__issue_comment"]}, "MCP tools offered"),
    ({"permissionMode": "bypassPermissions"}, "permission mode"),
])
def test_an_init_event_without_what_a_lane_needs_names_the_check(
        change: dict[str, object], check: str) -> None:
    check_init(INIT)
    with pytest.raises(ProbeFailed) as raised:
        check_init({**INIT, **change})
    assert raised.value.check == check


@pytest.mark.slow
def test_the_real_claude_passes_the_probe(claude: Path, tmp_path: Path) -> None:
    proc = run_probe(tmp_path, "--claude", str(claude))
    assert proc.stdout.strip().splitlines()[-1] == "PROBE_OK", proc.stdout + proc.stderr
    assert "maestro MCP server connected with 7 tools" in proc.stdout


def test_the_configured_acp_transport_is_probed(tmp_path: Path) -> None:
    (tmp_path / "maestro.toml").write_text(
        '[agent]\ntransport = "acp"\ncommand = "/nonexistent/acp-agent"\n')
    proc = run_probe(tmp_path)
    assert proc.returncode == 1
    assert proc.stdout.strip() == (
        "PROBE_FAILED ACP agent on PATH: '/nonexistent/acp-agent' not found on PATH (install "
        "an ACP agent, e.g. @agentclientprotocol/claude-agent-acp, or pass --acp CMD)")


def test_an_acp_agent_that_exits_fails_at_initialize(tmp_path: Path) -> None:
    proc = run_probe(tmp_path, "--acp", "true")
    assert proc.returncode == 1
    assert proc.stdout.strip().splitlines()[-1].startswith("PROBE_FAILED initialize: ")


@pytest.mark.slow
def test_a_real_acp_agent_passes_the_probe(claude_acp: Path, tmp_path: Path) -> None:
    proc = run_probe(tmp_path, "--acp", str(claude_acp))
    assert proc.stdout.strip().splitlines()[-1] == "PROBE_OK", proc.stdout + proc.stderr
