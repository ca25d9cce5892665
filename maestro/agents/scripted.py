"""A small agent that speaks the Codex app-server protocol and follows a script.

It runs as its own process (``python -m maestro.agents.scripted``) so that demos and tests
drive a whole lane offline through exactly the client code used for the real ``codex``.
The script is a fenced ``maestro-script`` YAML block in the issue description; the format is
documented in ``docs/spec/scripted-agent.md``. Without a block the agent writes
``notes/<ID>.md``, commits and hands off.
"""

from __future__ import annotations

import io
import json
import os
import queue
import re
import sys
import threading

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: pathlib, typing (and subprocess, imported where a
    # step runs a command) were a third of this program's start-up, which every lane's
    # dispatch waits for (issue #16)
    from pathlib import Path
    from typing import Any, TextIO

_BLOCK = re.compile(r"```maestro-script[ \t]*\r?\n(.*?)```", re.DOTALL)
_ISSUE = re.compile(r"^Issue:\s*(\S+)", re.MULTILINE)
_PR = re.compile(r"^PR:\s*(\S+)", re.MULTILINE)
_TITLE = re.compile(r"^Title:\s*(.+)$", re.MULTILINE)
REPAIR_MARKER = "maestro:review-repair"
#: The start of maestro's note that an earlier session's work is in the worktree
#: (``maestro.lanes.sessions.prior_work.MARKER``); on it, ``append`` does not repeat that work.
RESUME_MARKER = "a previous session of this lane was interrupted"


class ScriptError(Exception):
    pass


def parse_script(text: str) -> dict[str, list[Any]]:
    """Return ``{"steps": [...], "repair": [...]}`` from the first ``maestro-script`` block."""
    match = _BLOCK.search(text)
    if not match:
        return {"steps": [], "repair": [], "default": [True]}
    # Imported here, not at the top: ruamel.yaml is 40 % of this program's start-up, and an
    # issue without a script (or a session before its first turn) never needs it.
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        loaded = YAML(typ="safe", pure=True).load(io.StringIO(match.group(1)))
    except YAMLError as exc:
        raise ScriptError(f"maestro-script: invalid YAML: {exc}") from None
    if isinstance(loaded, list):
        return {"steps": loaded, "repair": []}
    if not isinstance(loaded, dict):
        raise ScriptError("maestro-script must be a list of steps or a mapping with 'steps'")
    unknown = set(loaded) - {"steps", "repair"}
    if unknown:
        raise ScriptError(f"maestro-script: unknown keys {sorted(map(str, unknown))}")
    for key in ("steps", "repair"):
        if not isinstance(loaded.get(key) or [], list):
            raise ScriptError(f"maestro-script: {key} must be a list of steps")
    return {"steps": list(loaded.get("steps") or []), "repair": list(loaded.get("repair") or [])}


class Agent:
    def __init__(self, stdin: TextIO, stdout: TextIO) -> None:
        self.stdin = stdin
        self.stdout = stdout
        self.next_id = 1000
        self.cwd = os.getcwd()
        self.thread_id = ""
        self.turn_id = ""
        self.queue: list[Any] = []
        self.script_loaded = False
        self.identifier = os.environ.get("MAESTRO_ISSUE", "")
        self.pr_url: str | None = None
        self.title = ""
        self.tokens = 0
        self.turn_input = ""
        self.instructions = ""
        #: The session was told an earlier session's work is already in the worktree.
        self.resuming = False
        self.turn_error: dict[str, Any] | None = None
        self.attention_label = os.environ.get("MAESTRO_NEEDS_ATTENTION_LABEL",
                                              "maestro:needs-attention")
        #: Messages from the client, read by :meth:`_read` on its own thread so that a
        #: ``turn/interrupt`` is seen while a step runs (as Codex sees it mid-turn).
        self.inbox: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.interrupted = threading.Event()
        self._write_lock = threading.Lock()

    # -- wire ------------------------------------------------------------------------------

    def send(self, message: dict[str, Any]) -> None:
        with self._write_lock:
            self.stdout.write(json.dumps(message) + "\n")
            self.stdout.flush()

    def _read(self) -> None:
        """Reader thread: answer ``turn/interrupt`` at once, queue everything else."""
        try:
            for line in self.stdin:
                if not line.strip():
                    continue
                message = json.loads(line)
                if message.get("method") == "turn/interrupt":
                    self.interrupted.set()
                    self.send({"id": message.get("id"), "result": {}})
                    continue
                self.inbox.put(message)
        except ValueError:
            pass
        finally:
            self.inbox.put(None)

    def receive(self) -> dict[str, Any]:
        """The next message from the client; the client gone ends the process."""
        message = self.inbox.get()
        if message is None:
            sys.exit(0)
        return message

    def notify(self, method: str, params: dict[str, Any]) -> None:
        self.send({"method": method, "params": params})

    def call_tool(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """Send ``item/tool/call`` and read until its response arrives."""
        self.next_id += 1
        request_id = self.next_id
        call_id = _random_id("call", 8)
        self.notify("item/started", {"threadId": self.thread_id, "turnId": self.turn_id,
                                     "item": {"type": "dynamicToolCall", "id": call_id,
                                              "tool": tool}})
        self.send({"id": request_id, "method": "item/tool/call", "params": {
            "threadId": self.thread_id, "turnId": self.turn_id, "callId": call_id,
            "tool": tool, "arguments": arguments}})
        while True:
            message = self.receive()
            if message.get("id") == request_id and "method" not in message:
                result = message.get("result") or {}
                self.notify("item/completed", {"threadId": self.thread_id,
                                               "turnId": self.turn_id,
                                               "item": {"type": "dynamicToolCall",
                                                        "id": call_id, "tool": tool,
                                                        "success": result.get("success")}})
                return dict(result)

    @staticmethod
    def text_of(result: dict[str, Any]) -> str:
        items = result.get("contentItems") or []
        return " ".join(str(item.get("text", "")) for item in items)

    # -- protocol --------------------------------------------------------------------------

    def serve(self) -> None:
        threading.Thread(target=self._read, daemon=True).start()
        while True:
            message = self.receive()
            method = message.get("method")
            params = message.get("params") or {}
            if method == "initialize":
                self.send({"id": message["id"], "result": {
                    "userAgent": "maestro-scripted/1", "platformFamily": "unix"}})
            elif method == "initialized":
                continue
            elif method == "thread/start":
                self.cwd = str(params.get("cwd") or os.getcwd())
                self.instructions = str(params.get("developerInstructions") or "")
                self.thread_id = _random_id("thr", 12)
                self.send({"id": message["id"], "result": {"thread": {"id": self.thread_id}}})
                self.notify("thread/started", {"thread": {"id": self.thread_id}})
            elif method == "turn/start":
                self.turn_id = _random_id("turn", 12)
                self.send({"id": message["id"], "result": {
                    "turn": {"id": self.turn_id, "items": [], "status": "inProgress"}}})
                self.run_turn(params)
            elif "id" in message:
                self.send({"id": message["id"], "error": {
                    "code": -32601, "message": f"method not supported: {method}"}})

    def run_turn(self, params: dict[str, Any]) -> None:
        text = " ".join(str(item.get("text", "")) for item in params.get("input") or [])
        self.turn_input = text
        self.resuming = self.resuming or RESUME_MARKER in text
        if not self.identifier and (m := _ISSUE.search(text)):
            self.identifier = m.group(1)
        if m := _PR.search(text):
            self.pr_url = m.group(1)
        if not self.title and (m := _TITLE.search(text)):
            self.title = m.group(1).strip()
        if REPAIR_MARKER in text:
            self.queue = list(parse_script(text)["repair"]) or [{"repair_complete": "addressed"}]
            self.script_loaded = True
        elif not self.script_loaded:
            script = parse_script(text)
            self.queue = script["steps"] if "default" not in script else self.default_steps()
            self.script_loaded = True
        self.notify("turn/started", {"threadId": self.thread_id,
                                     "turn": {"id": self.turn_id, "status": "inProgress"}})
        status = "completed"
        self.interrupted.clear()
        while self.queue:
            if self.interrupted.is_set():
                break
            step = self.queue.pop(0)
            if step == "end_turn" or (isinstance(step, dict) and "end_turn" in step):
                break
            self.perform(step)
            if self.turn_error:
                status = "failed"
                break
        if self.interrupted.is_set():
            status = "interrupted"
        self.tokens += 150
        self.notify("thread/tokenUsage/updated", {
            "threadId": self.thread_id, "turnId": self.turn_id,
            "tokenUsage": {"total": _usage(self.tokens), "last": _usage(150)}})
        turn: dict[str, Any] = {"id": self.turn_id, "items": [], "status": status}
        if self.turn_error:
            turn["error"], self.turn_error = self.turn_error, None
        self.notify("turn/completed", {"threadId": self.thread_id, "turn": turn})

    def default_steps(self) -> list[Any]:
        name = self.identifier or "issue"
        return [
            {"write": {"path": f"notes/{name}.md", "content": f"# {name}\n\nDone by maestro.\n"}},
            {"commit": f"{name}: add notes"},
            {"handoff": f"Added notes/{name}.md"},
        ]

    # -- steps -----------------------------------------------------------------------------

    def perform(self, step: Any) -> None:
        if isinstance(step, str):
            step = {step: True}
        if not isinstance(step, dict) or len(step) != 1:
            raise ScriptError(f"each step must be a one-key mapping, got {step!r}")
        (kind, arg), = step.items()
        self.notify("item/started", {"threadId": self.thread_id, "turnId": self.turn_id,
                                     "item": {"type": "scriptStep", "kind": kind}})
        handler = getattr(self, f"step_{kind}", None)
        if handler is None:
            raise ScriptError(f"unknown step {kind!r}")
        handler(arg)

    def _safe_path(self, relative: str) -> Path:
        from pathlib import Path

        path = (Path(self.cwd) / relative).resolve()
        if Path(self.cwd).resolve() not in path.parents:
            raise ScriptError(f"path {relative!r} leaves the worktree")
        return path

    def step_write(self, arg: dict[str, str]) -> None:
        path = self._safe_path(arg["path"])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(arg.get("content", ""))

    def step_append(self, arg: dict[str, str]) -> None:
        """Append ``content``; a resuming session (told so by maestro) skips content the
        file already ends with, as a careful agent would not redo the killed session's work."""
        path = self._safe_path(arg["path"])
        path.parent.mkdir(parents=True, exist_ok=True)
        content = arg.get("content", "")
        if self.resuming and content and path.is_file() and path.read_text().endswith(content):
            return
        with path.open("a") as handle:
            handle.write(content)

    def step_run(self, arg: str) -> None:
        import subprocess

        proc = subprocess.run(arg, shell=True, cwd=self.cwd, capture_output=True, text=True,
                              errors="replace",
                              check=False)
        self.notify("item/completed", {"threadId": self.thread_id, "turnId": self.turn_id,
                                       "item": {"type": "commandExecution", "command": arg,
                                                "exitCode": proc.returncode,
                                                "aggregatedOutput": proc.stdout[-2000:]}})

    def step_say(self, arg: Any) -> None:
        """A message from the agent, as Codex reports one (a completed ``agentMessage``)."""
        self.notify("item/completed", {"threadId": self.thread_id, "turnId": self.turn_id,
                                       "item": {"type": "agentMessage",
                                                "id": _random_id("msg", 8),
                                                "text": str(arg)}})

    def step_commit(self, arg: str) -> None:
        import subprocess

        subprocess.run(["git", "add", "-A"], cwd=self.cwd, check=True, capture_output=True)
        staged = subprocess.run(["git", "diff", "--cached", "--quiet"], cwd=self.cwd,
                                check=False)
        if staged.returncode != 0:
            subprocess.run(["git", "commit", "-q", "-m", str(arg)], cwd=self.cwd, check=True,
                           capture_output=True)

    def step_sleep(self, arg: float) -> None:
        self.interrupted.wait(float(arg))  # a turn/interrupt ends the wait, as in Codex

    def step_tokens(self, arg: int) -> None:
        """Report ``arg`` more tokens now (``thread/tokenUsage/updated``, absolute totals),
        as a model's long answer would mid-turn."""
        self.tokens += int(arg)
        self.notify("thread/tokenUsage/updated", {
            "threadId": self.thread_id, "turnId": self.turn_id,
            "tokenUsage": {"total": _usage(self.tokens), "last": _usage(int(arg))}})

    def step_tool(self, arg: dict[str, Any]) -> None:
        self.call_tool(arg["name"], dict(arg.get("args") or {}))

    def step_comment(self, arg: str) -> None:
        self.call_tool("issue_comment", {"body": str(arg)})

    def step_checkpoint(self, arg: dict[str, Any]) -> None:
        block = json.dumps({"kind": "checkpoint", **arg}, sort_keys=True)
        body = f"Progress checkpoint.\n\n```maestro-checkpoint\n{block}\n```\n"
        self.call_tool("issue_comment", {"body": body})

    def step_open_pr(self, arg: Any) -> None:
        arg = arg if isinstance(arg, dict) else {}
        title = str(arg.get("title") or f"{self.identifier}: {self.title or 'changes'}")
        result = self.call_tool("lane_open_pr", {"title": title, "body": str(arg.get("body", ""))})
        if result.get("success"):
            self.pr_url = self.text_of(result).strip()

    def step_handoff(self, arg: Any) -> None:
        if not self.pr_url:
            self.step_open_pr({})
        self.call_tool("issue_review_handoff", {"pr_url": self.pr_url or "", "summary": str(arg)})
        self.call_tool("issue_terminal_finalize", {"path": "review_handoff"})

    def step_attention(self, arg: Any) -> None:
        self.call_tool("issue_label_add", {"label": self.attention_label})
        self.call_tool("issue_comment", {"body": f"Needs a human: {arg}"})
        self.call_tool("issue_terminal_finalize", {"path": "manual_attention"})

    def step_repair_complete(self, arg: Any) -> None:
        self.call_tool("issue_review_repair_complete",
                       {"pr_url": self.pr_url or "", "summary": str(arg)})
        self.call_tool("issue_terminal_finalize", {"path": "review_repair"})

    def step_finalize(self, arg: str) -> None:
        self.call_tool("issue_terminal_finalize", {"path": str(arg)})

    def step_fail_turn(self, arg: Any) -> None:
        """Fail the turn as Codex does: an ``error`` notification, then ``turn/completed``
        with status ``failed`` and the same ``TurnError`` (``message``, ``codexErrorInfo``)."""
        error = dict(arg) if isinstance(arg, dict) else {"message": str(arg)}
        self.notify("error", {"threadId": self.thread_id, "turnId": self.turn_id,
                              "willRetry": False, "error": error})
        self.turn_error = {"message": error.get("message", ""),
                           "codexErrorInfo": error.get("codexErrorInfo")}

    def step_crash(self, arg: Any) -> None:
        attempts = arg.get("attempts") if isinstance(arg, dict) else None
        attempt = int(os.environ.get("MAESTRO_ATTEMPT", "1"))
        if attempts is None or attempt in attempts:
            os._exit(17)

    def step_garbage(self, arg: Any) -> None:
        self.stdout.write("this is not json\n")
        self.stdout.flush()

    def step_flood(self, arg: Any) -> None:
        for index in range(int(arg)):
            self.notify("item/agentMessage/delta", {"threadId": self.thread_id,
                                                    "turnId": self.turn_id, "delta": str(index)})

    def step_hang(self, arg: Any) -> None:
        self.interrupted.wait(3600)

    def step_save_input(self, arg: str) -> None:
        """Append this turn's input text to a file, so tests can see what each turn got."""
        with open(str(arg), "a") as handle:
            handle.write(self.turn_input + "\n---\n")

    def step_save_instructions(self, arg: str) -> None:
        """Append the thread's ``developerInstructions`` (the rendered WORKFLOW.md body and
        what follows it) and a ``---`` line to a file: tests read the prompt each session
        was given."""
        with open(str(arg), "a") as handle:
            handle.write(self.instructions + "\n---\n")

    def step_big_line(self, arg: Any) -> None:
        """One notification of about ``arg`` bytes: clients must take multi-megabyte lines."""
        self.notify("item/agentMessage/delta", {"threadId": self.thread_id,
                                                "turnId": self.turn_id, "delta": "x" * int(arg)})

    def step_request(self, arg: dict[str, Any]) -> None:
        """Send a server request (an approval, a question) and save the client's answer."""
        self.next_id += 1
        request_id = self.next_id
        self.send({"id": request_id, "method": str(arg["method"]), "params": {
            "threadId": self.thread_id, "turnId": self.turn_id,
            **dict(arg.get("params") or {})}})
        while True:
            message = self.receive()
            if message.get("id") == request_id and "method" not in message:
                break
        if arg.get("save"):
            answer = {k: message[k] for k in ("result", "error") if k in message}
            with open(str(arg["save"]), "w") as handle:
                handle.write(json.dumps(answer))


def _random_id(prefix: str, length: int) -> str:
    """``prefix-`` and ``length`` random hex digits (Codex's ids are opaque strings)."""
    return f"{prefix}-{os.urandom(length // 2 + 1).hex()[:length]}"


def _usage(total: int) -> dict[str, int]:
    return {"inputTokens": total * 2 // 3, "outputTokens": total // 3, "cachedInputTokens": 0,
            "reasoningOutputTokens": 0, "totalTokens": total}


def main() -> None:
    Agent(sys.stdin, sys.stdout).serve()


if __name__ == "__main__":
    main()
