"""The Claude Code transport's turn reader against a stand-in ``claude`` (no binary needed):
a turn ends at its ``result`` event, a quiet stream is a stall, an exit without a result is
the process's failure, a turn's tokens are counted as its requests report them; and the
pure helpers (usage, argv) by table."""

from __future__ import annotations

import asyncio
import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from maestro.agents.appserver import ProcessExited, Stalled
from maestro.agents.claude_code import (
    CHILD_ENV,
    ClaudeCodeClient,
    TurnResult,
    child_env,
    claude_argv,
)
from maestro.agents.turn_usage import TurnUsage, counts_of, plus

#: Reads the turn's one input line, then plays what ``MODE`` (its first argument) says.
STAND_IN = textwrap.dedent("""\
    import json, sys, time
    mode = sys.argv[1]
    line = json.loads(sys.stdin.readline())
    assert line["type"] == "user", line
    print(json.dumps({"type": "system", "subtype": "init", "session_id": "s1"}), flush=True)
    if mode == "quiet":
        time.sleep(30)
    def request(mid, prompt, output):
        usage = {"input_tokens": prompt, "output_tokens": output}
        for block in ("text", "tool_use"):  # each content block repeats its message's usage
            print(json.dumps({"type": "assistant", "message": {
                "id": mid, "content": [{"type": block}], "usage": usage}}), flush=True)
    if mode == "killed":  # two requests, then the process dies before its result
        request("m1", 1000, 10)
        request("m2", 1200, 20)
        sys.exit(137)
    if mode == "forged":  # a result with a lower, negative usage than its requests had
        request("m1", 1000, 10)
        print(json.dumps({"type": "result", "subtype": "success", "is_error": False,
                          "session_id": "s1", "result": "done",
                          "usage": {"input_tokens": -5000000, "output_tokens": 1}}),
              flush=True)
        request("m2", 1200, 20)  # the real turn goes on after the forged line
    if mode == "ok":
        print(json.dumps({"type": "assistant", "message": {}}), flush=True)
        print(json.dumps({"type": "result", "subtype": "success", "is_error": False,
                          "session_id": "s1", "result": "done",
                          "usage": {"input_tokens": 3, "output_tokens": 2,
                                    "cache_read_input_tokens": 5},
                          "permission_denials": [{"tool_name": "WebFetch"}]}), flush=True)
    """)


def run_turn(tmp_path: Path, mode: str, idle: float = 20.0,
             clients: list[ClaudeCodeClient] | None = None) -> tuple[TurnResult, list[str]]:
    script = tmp_path / "claude.py"
    script.write_text(STAND_IN)
    seen: list[str] = []

    async def go() -> TurnResult:
        client = ClaudeCodeClient(tmp_path, {"PATH": "/usr/bin:/bin"},
                                  lambda kind, event: seen.append(kind), lambda line: None)
        if clients is not None:
            clients.append(client)
        return await client.run_turn([sys.executable, str(script), mode], "hello", idle, 60.0)

    return asyncio.run(go()), seen


def test_a_turn_ends_at_its_result_event(tmp_path: Path) -> None:
    result, seen = run_turn(tmp_path, "ok")
    assert seen == ["system/init", "assistant", "result/success"]
    assert (result.session_id, result.is_error, result.text) == ("s1", False, "done")
    assert result.denials == ["WebFetch"]


def test_a_quiet_event_stream_is_a_stall(tmp_path: Path) -> None:
    with pytest.raises(Stalled):
        run_turn(tmp_path, "quiet", idle=1.0)


def test_an_exit_without_a_result_is_the_process_failing(tmp_path: Path) -> None:
    with pytest.raises(ProcessExited, match="before the turn's result"):
        run_turn(tmp_path, "exit")


def test_a_turn_killed_before_its_result_counts_the_requests_it_made(tmp_path: Path) -> None:
    clients: list[ClaudeCodeClient] = []
    with pytest.raises(ProcessExited):
        run_turn(tmp_path, "killed", clients=clients)
    assert clients[0].usage.counts() == {"inputTokens": 2200, "outputTokens": 30,
                                         "totalTokens": 2230}


def test_a_forged_lower_result_does_not_lower_the_turns_count(tmp_path: Path) -> None:
    clients: list[ClaudeCodeClient] = []
    result, seen = run_turn(tmp_path, "forged", clients=clients)
    assert result.text == "done"
    # what the process printed after the (forged) result is still handed on: the lane
    # checks its token ceilings on it
    assert seen[seen.index("result/success") + 1:] == ["assistant", "assistant"]
    # m1 before the forged line and m2, printed after it until the process exited
    assert clients[0].usage.counts() == {"inputTokens": 2200, "outputTokens": 30,
                                         "totalTokens": 2230}


@pytest.mark.parametrize(("usages", "expected"), [
    ([{"input_tokens": 3, "output_tokens": 2}], {"inputTokens": 3, "outputTokens": 2,
                                                 "totalTokens": 5}),
    ([{"input_tokens": 1, "cache_read_input_tokens": 4, "cache_creation_input_tokens": 5,
       "output_tokens": 1}] * 2, {"inputTokens": 20, "outputTokens": 2, "totalTokens": 22}),
    ([None, {"output_tokens": True, "input_tokens": "9"}],
     {"inputTokens": 0, "outputTokens": 0, "totalTokens": 0}),
    ([{"input_tokens": -5000000, "output_tokens": 7}],
     {"inputTokens": 0, "outputTokens": 7, "totalTokens": 7}),
    ([{"input_tokens": 999_999_999_999_999}],  # more than any model takes: one day's hold
     {"inputTokens": 10_000_000, "outputTokens": 0, "totalTokens": 10_000_000}),
])
def test_usage_sums_over_turns_with_cached_prompt_tokens_as_input_and_no_negative_figure(
        usages: list[Any], expected: dict[str, int]) -> None:
    tokens: dict[str, int] = {}
    for usage in usages:
        tokens = plus(tokens, counts_of(usage))
    assert tokens == expected


@pytest.mark.parametrize(("events", "expected_total"), [
    ([], 0),
    ([{"type": "assistant", "message": {"id": "a", "usage": {"input_tokens": 10}}},
      {"type": "assistant", "message": {"id": "a", "usage": {"input_tokens": 10,
                                                             "output_tokens": 5}}}], 15),
    ([{"type": "assistant", "message": {"id": "a", "usage": {"input_tokens": 10}}},
      {"type": "assistant", "message": {"id": "b", "usage": {"input_tokens": 20}}}], 30),
    ([{"type": "assistant", "message": {"id": "a", "usage": {"input_tokens": 10}}},
      {"type": "result", "usage": {"input_tokens": 40, "output_tokens": 2}}], 42),
    ([{"type": "assistant", "message": {"id": "a", "usage": {"input_tokens": 50}}},
      {"type": "result", "usage": {"input_tokens": 3}}], 50),
    ([{"type": "assistant", "message": "not a message"},
      {"type": "user", "message": {"usage": {"input_tokens": 9}}}], 0),
])
def test_a_turns_count_is_its_requests_raised_never_lowered_by_its_result(
        events: list[dict[str, Any]], expected_total: int) -> None:
    usage = TurnUsage()
    for event in events:
        usage.see(event)
    assert usage.counts().get("totalTokens", 0) == expected_total


def test_the_first_turn_names_the_session_and_later_turns_resume_it() -> None:
    config = {"mcpServers": {"maestro": {"command": "python3", "args": ["-I"]}}}
    first = claude_argv(["claude"], config, "rules", "id-1", resume=False)
    later = claude_argv(["claude"], config, "rules", "id-1", resume=True)
    assert json.loads(first[first.index("--mcp-config") + 1]) == config  # no file to rewrite
    assert first[-2:] == ["--session-id", "id-1"] and later[-2:] == ["--resume", "id-1"]
    assert "bypassPermissions" not in first and "--dangerously-skip-permissions" not in first
    allowed = first[first.index("--allowedTools") + 1].split(",")
    assert "Bash" in allowed and "mcp__maestro__lane_open_pr" in allowed
    assert "WebFetch" not in allowed


def test_the_child_waits_for_the_mcp_tools_as_long_as_the_startup_timeout() -> None:
    env = child_env({"PATH": "/bin"}, 12.5)
    assert env["MCP_CONNECT_TIMEOUT_MS"] == "12500"
    assert CHILD_ENV.items() <= env.items()
