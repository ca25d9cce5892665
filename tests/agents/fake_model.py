"""A loopback model server that plays the model for the real ``codex app-server``.

codex streams ``POST /v1/responses`` to a custom provider's ``base_url``. This server
answers each request with the next item of a script: a function call (codex's own
``exec_command``, or one of maestro's dynamic tools) or a final assistant message that ends
the turn. Which step comes next is read from the request itself: its ``input`` carries the
thread's history, so the number of ``function_call_output`` items (calls answered) plus
assistant messages (turns ended) is the number of steps already taken. The server needs no
session state, a retried request gets the same answer, and a continuation turn on the same
thread picks up where the last turn stopped.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .model_server import ScriptedModel, serve, sse, stalled

__all__ = ["FakeModel", "call", "message", "outputs", "serve", "stall", "taken"]

#: A step gets the request body and returns one output item.
Step = Callable[[dict[str, Any]], dict[str, Any]]


def taken(body: dict[str, Any]) -> int:
    """Steps already taken in this thread, read from the request's history."""
    return sum(1 for i in body.get("input", [])
               if i.get("type") == "function_call_output"
               or (i.get("type") == "message" and i.get("role") == "assistant"))


def call(name: str, arguments: dict[str, Any] | Callable[[dict[str, Any]], dict[str, Any]],
         ) -> Step:
    """A function call step; ``arguments`` may be computed from the request (e.g. a PR url)."""

    def item(body: dict[str, Any]) -> dict[str, Any]:
        args = arguments(body) if callable(arguments) else arguments
        index = taken(body)
        return {"type": "function_call", "id": f"fc{index}", "call_id": f"call{index}",
                "name": name, "arguments": json.dumps(args)}

    return item


def message(text: str) -> Step:
    """The final assistant message: it ends the turn."""
    return lambda body: {"type": "message", "role": "assistant", "id": f"m{taken(body)}",
                         "content": [{"type": "output_text", "text": text}]}


def stall(model: FakeModel) -> Step:
    """Answer nothing until the test ends: codex waits on the model, the protocol goes quiet."""

    return stalled(model, message("released"))


def outputs(body: dict[str, Any]) -> list[str]:
    """The texts of the ``function_call_output`` items codex sent back so far."""
    found = []
    for item in body.get("input", []):
        if item.get("type") == "function_call_output":
            output = item.get("output")
            found.append(output if isinstance(output, str) else json.dumps(output))
    return found


class FakeModel(ScriptedModel[dict[str, Any]]):
    def answer(self, path: str, body: dict[str, Any]) -> tuple[bytes, str] | None:
        if not path.endswith("/responses"):
            return None
        return self.respond(body), "text/event-stream"

    def respond(self, body: dict[str, Any]) -> bytes:
        self.requests.append(body)
        index = taken(body)
        step = self.script[min(index, len(self.script) - 1)]
        item = step(body)
        usage = {"input_tokens": 100, "output_tokens": 20, "total_tokens": 120}
        return sse([
            ("response.created", {"type": "response.created", "response": {"id": f"r{index}"}}),
            ("response.output_item.done", {"type": "response.output_item.done", "item": item}),
            ("response.completed", {"type": "response.completed",
                                    "response": {"id": f"r{index}", "usage": usage}}),
        ])

    def codex_home(self, home: Path, approval_policy: str = "never",
                   sandbox_mode: str = "danger-full-access") -> Path:
        """An isolated HOME whose ``.codex/config.toml`` points codex at this server."""
        codex_home = home / ".codex"
        codex_home.mkdir(parents=True, exist_ok=True)
        (codex_home / "config.toml").write_text(f"""\
model = "fake-model"
model_provider = "fake"
approval_policy = "{approval_policy}"
sandbox_mode = "{sandbox_mode}"

[model_providers.fake]
name = "fake"
base_url = "http://127.0.0.1:{self.port}/v1"
wire_api = "responses"
requires_openai_auth = false
""")
        return codex_home

