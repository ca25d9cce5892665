"""A loopback model server speaking the Anthropic Messages API, for the real ``claude``.

Claude Code streams ``POST /v1/messages?beta=true`` to ``ANTHROPIC_BASE_URL``. This server
answers each request with the next step of a script, as server-sent events: a ``tool_use``
block (Claude Code's own ``Bash``, or one of maestro's MCP tools) or a final text that ends
the turn. Which step comes next is read from the request: every earlier answer is in its
``messages`` as one assistant message (a resumed session re-sends the whole history), so
the number of assistant messages is the number of steps taken. A request without tools
(a side call) gets a short text and takes no step.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .model_server import ScriptedModel, serve, sse, stalled

__all__ = ["REPAIR_MARK", "FakeAnthropic", "bash", "observing", "pr_url", "serve", "stall",
           "taken", "taken_since", "text", "tool", "tool_results"]

#: A step gets the request body and returns the content blocks of one assistant message.
Step = Callable[[dict[str, Any]], list[dict[str, Any]]]
USAGE = {"input_tokens": 100, "output_tokens": 20}


def taken(body: dict[str, Any]) -> int:
    return sum(1 for m in body.get("messages", []) if m.get("role") == "assistant")


def taken_since(body: dict[str, Any], mark: str) -> int:
    """Assistant messages after the last message holding ``mark``: the steps taken by a
    session that resumed an earlier one (its history holds the earlier session's too)."""
    messages = body.get("messages", [])
    last = max((i for i, m in enumerate(messages) if mark in json.dumps(m)), default=-1)
    return sum(1 for m in messages[last + 1:] if m.get("role") == "assistant")


def tool(name: str, arguments: dict[str, Any] | Callable[[dict[str, Any]], dict[str, Any]],
         ) -> Step:
    """A ``tool_use`` step; ``arguments`` may be computed from the request (a PR url)."""

    def blocks(body: dict[str, Any]) -> list[dict[str, Any]]:
        args = arguments(body) if callable(arguments) else arguments
        return [{"type": "tool_use", "id": f"toolu_{taken(body):04d}", "name": name,
                 "input": args}]

    return blocks


def bash(command: str) -> Step:
    return tool("Bash", {"command": command, "description": "maestro test step"})


def text(words: str) -> Step:
    """The final text: it ends the turn."""
    return lambda body: [{"type": "text", "text": words}]


def environ_of(marker: bytes) -> bytes:
    """The environments of the running processes whose command line holds ``marker``, read
    from ``/proc`` by this (the test's) process, outside any sandbox of the agent's."""
    found = b""
    for proc in Path("/proc").iterdir():
        try:
            if marker in (proc / "cmdline").read_bytes():
                found += (proc / "environ").read_bytes() + b"\n"
        except OSError:
            continue
    return found


def observing(into: Path, step: Step) -> Step:
    """``step``, after writing the environment of maestro's running MCP server to ``into``
    (place it after an MCP tool call, when the server is surely up)."""

    def blocks(body: dict[str, Any]) -> list[dict[str, Any]]:
        into.write_bytes(environ_of(b"maestro.agents.mcp_tools"))
        return step(body)

    return blocks


def stall(model: FakeAnthropic) -> Step:
    """Answer nothing until the test ends: the agent waits, its event stream goes quiet."""

    return stalled(model, text("released"))


def tool_results(body: dict[str, Any]) -> list[str]:
    """The texts of the tool results the agent sent back so far."""
    found = []
    for message in body.get("messages", []):
        content = message.get("content")
        for block in content if isinstance(content, list) else []:
            if isinstance(block, dict) and block.get("type") == "tool_result":
                found.append(json.dumps(block.get("content")))
    return found


def pr_url(body: dict[str, Any]) -> dict[str, str]:
    """``issue_review_handoff``'s arguments, with the url ``lane_open_pr`` returned."""
    found = re.findall(r"local://[\w.-]+/pulls/\d+", " ".join(tool_results(body)))
    return {"pr_url": found[-1] if found else "missing", "summary": "Added the notes"}


def _sse(blocks: list[dict[str, Any]], index: int) -> bytes:
    stop = "tool_use" if any(b["type"] == "tool_use" for b in blocks) else "end_turn"
    events: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": {
            "id": f"msg_{index}", "type": "message", "role": "assistant", "model": "fake",
            "content": [], "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": USAGE["input_tokens"], "output_tokens": 1,
                      "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}}}),
        ("ping", {"type": "ping"}),
    ]
    for i, block in enumerate(blocks):
        if block["type"] == "tool_use":
            start = {**block, "input": {}}
            delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
        else:
            start = {"type": "text", "text": ""}
            delta = {"type": "text_delta", "text": block["text"]}
        events += [
            ("content_block_start", {"type": "content_block_start", "index": i,
                                     "content_block": start}),
            ("content_block_delta", {"type": "content_block_delta", "index": i,
                                     "delta": delta}),
            ("content_block_stop", {"type": "content_block_stop", "index": i}),
        ]
    events += [
        ("message_delta", {"type": "message_delta",
                           "delta": {"stop_reason": stop, "stop_sequence": None},
                           "usage": {"output_tokens": USAGE["output_tokens"]}}),
        ("message_stop", {"type": "message_stop"}),
    ]
    return sse(events)


#: A review repair session's first prompt says so (maestro/lanes/review.py).
REPAIR_MARK = "Review repair round"


class FakeAnthropic(ScriptedModel[list[dict[str, Any]]]):
    """``script`` plays the agent phase; ``repair`` (if given) plays every session whose
    history holds :data:`REPAIR_MARK`, counting its steps from the last such message (a
    resumed repair session carries the agent phase's history before it)."""

    def __init__(self, script: list[Step], repair: list[Step] | None = None) -> None:
        super().__init__(script)
        self.repair = repair or []

    def answer(self, path: str, body: dict[str, Any]) -> tuple[bytes, str] | None:
        if path.startswith("/v1/messages/count_tokens"):
            return json.dumps({"input_tokens": 100}).encode(), "application/json"
        if path.startswith("/v1/messages"):
            return self.respond(body), "text/event-stream"
        return None

    def respond(self, body: dict[str, Any]) -> bytes:
        if not body.get("tools"):
            return _sse([{"type": "text", "text": "ok"}], -1)
        self.requests.append(body)
        index = taken(body)
        script, step_no = self.script, index
        if self.repair and REPAIR_MARK in json.dumps(body.get("messages")):
            script, step_no = self.repair, taken_since(body, REPAIR_MARK)
        step = script[min(step_no, len(script) - 1)]
        return _sse(step(body), index)
