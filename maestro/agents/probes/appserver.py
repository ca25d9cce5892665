"""``maestro protocol probe`` for the app-server transport (the default).

The question: is the installed ``codex`` an app-server maestro can drive?

An operator runs this before pointing maestro at the real agent, and CI runs it after
installing the pinned npm package. Each check names exactly what it verifies, so a failure
says which assumption of maestro's client no longer holds for this binary:

1. the command resolves to an executable (``codex`` on PATH by default);
2. ``codex app-server generate-json-schema --experimental`` succeeds offline;
3. the schema lists the client requests, notifications and server requests maestro uses;
4. maestro's dynamic tool specs and tool results have the fields the schema requires;
5. a real handshake (``initialize`` → ``initialized`` → ``thread/start`` with maestro's
   dynamic tools) succeeds with an empty temporary ``HOME``/``CODEX_HOME``, so neither the
   operator's configuration nor their credentials take part.

No turn is started: a turn needs a model, and the probe must work offline and cost nothing.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from maestro import __version__
from maestro.agents.appserver import AgentError, AppServerClient
from maestro.agents.probes.common import (
    ProbeFailed,
    agent_failed,
    agent_version,
    isolated_env,
    resolve_command,
)
from maestro.agents.tools import TOOL_NAMES, dynamic_tools

#: Methods maestro's client depends on, by the schema file that must list them.
REQUIRED_METHODS: dict[str, tuple[str, ...]] = {
    "ClientRequest.json": ("initialize", "thread/start", "turn/start"),
    "ClientNotification.json": ("initialized",),
    "ServerNotification.json": ("thread/status/changed", "turn/completed", "turn/started",
                                "thread/tokenUsage/updated"),
    "ServerRequest.json": ("item/tool/call",),
}
SCHEMA_TIMEOUT_S = 60.0
HANDSHAKE_TIMEOUT_S = 30.0


def _methods(node: Any) -> Iterator[str]:
    """Every ``method`` name a schema document defines (its ``enum``/``const`` values)."""
    if isinstance(node, dict):
        method = node.get("properties", {}).get("method") if isinstance(
            node.get("properties"), dict) else None
        if isinstance(method, dict):
            yield from (v for v in method.get("enum", []) if isinstance(v, str))
            if isinstance(method.get("const"), str):
                yield method["const"]
        for value in node.values():
            yield from _methods(value)
    elif isinstance(node, list):
        for value in node:
            yield from _methods(value)


def check_schema(argv: list[str], work: Path) -> dict[str, Any]:
    """Generate the schema, check the methods and the shapes; return the parsed files."""
    out = work / "schema"
    try:
        proc = subprocess.run([*argv, "app-server", "generate-json-schema", "--experimental",
                               "--out", str(out)], capture_output=True, text=True, errors="replace",
                              timeout=SCHEMA_TIMEOUT_S, env=isolated_env(work / "home"),
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ProbeFailed("generate-json-schema", str(exc)) from None
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip()[-400:]
        raise ProbeFailed("generate-json-schema", f"exited {proc.returncode}: {tail}")
    docs: dict[str, Any] = {}
    for name, wanted in REQUIRED_METHODS.items():
        path = out / name
        try:
            docs[name] = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ProbeFailed("schema files", f"{name} missing or not JSON: {exc}") from None
        present = set(_methods(docs[name]))
        for method in wanted:
            if method not in present:
                raise ProbeFailed(f"schema lists {method}", f"{method!r} not in {name}")
    _check_tool_shapes(out)
    return docs


def _definitions(out: Path) -> dict[str, Any]:
    bundle = out / "codex_app_server_protocol.v2.schemas.json"
    try:
        data = json.loads(bundle.read_text())
    except (OSError, ValueError):
        return {}
    found = data.get("definitions") if isinstance(data, dict) else None
    return found if isinstance(found, dict) else {}


def _check_tool_shapes(out: Path) -> None:
    """maestro's ``dynamicTools`` and ``item/tool/call`` answers carry what the schema needs."""
    spec = _definitions(out).get("DynamicToolSpec")
    if spec is None:
        raise ProbeFailed("schema DynamicToolSpec", "no DynamicToolSpec definition")
    variants = spec.get("oneOf") or [spec]
    function = next((v for v in variants if "function" in
                     ((v.get("properties") or {}).get("type") or {}).get("enum", [])), None)
    required = set((function or variants[0]).get("required") or [])
    for tool in dynamic_tools():
        missing = required - set(tool)
        if missing:
            raise ProbeFailed("schema DynamicToolSpec",
                              f"tool {tool['name']} lacks {sorted(missing)}")
    try:
        response = json.loads((out / "DynamicToolCallResponse.json").read_text())
    except (OSError, ValueError) as exc:
        raise ProbeFailed("schema DynamicToolCallResponse", str(exc)) from None
    # The shape ToolBridge.call answers with.
    sample = {"success": False, "contentItems": [{"type": "inputText", "text": "x"}]}
    missing = set(response.get("required") or []) - set(sample)
    if missing:
        raise ProbeFailed("schema DynamicToolCallResponse", f"requires {sorted(missing)}")
    if '"inputText"' not in json.dumps(response):
        raise ProbeFailed("schema DynamicToolCallResponse", "no inputText content item")


async def _handshake(argv: list[str], work: Path) -> dict[str, str]:
    cwd = work / "thread"
    cwd.mkdir(parents=True, exist_ok=True)
    stderr: list[str] = []

    async def refuse(method: str, params: dict[str, Any]) -> dict[str, Any]:
        raise LookupError(f"the probe serves no {method}")

    client = AppServerClient([*argv, "app-server"], cwd, isolated_env(work / "home"),
                             lambda method, params: None, refuse, stderr.append,
                             response_timeout=HANDSHAKE_TIMEOUT_S)
    step = "start app-server"
    try:
        await client.start()
        step = "initialize"
        init = await client.request("initialize", {
            "clientInfo": {"name": "maestro-probe", "title": "maestro protocol probe",
                           "version": __version__},
            "capabilities": {"experimentalApi": True}})
        await client.notify("initialized", {})
        step = "thread/start with maestro's dynamic tools"
        started = await client.request("thread/start", {
            "cwd": str(cwd), "dynamicTools": dynamic_tools(),
            "developerInstructions": "maestro protocol probe: no turn will be started."})
    except AgentError as exc:
        raise agent_failed(step, exc, stderr) from None
    finally:
        await client.close()
    thread_id = (started.get("thread") or {}).get("id")
    if not isinstance(thread_id, str) or not thread_id:
        raise ProbeFailed("thread/start with maestro's dynamic tools",
                          f"response has no thread.id: {json.dumps(started)[:200]}")
    return {"user_agent": str(init.get("userAgent", "")), "thread_id": thread_id}


def run_checks(command: str, say: Any = print) -> None:
    """Every check in order; raises :class:`ProbeFailed` at the first that fails."""
    argv = resolve_command(command, what="codex",
                           hint="install @openai/codex or pass --codex CMD")
    say(f"ok   codex on PATH: {argv[0]} ({agent_version(argv)})")
    with tempfile.TemporaryDirectory(prefix="maestro-probe-") as tmp:
        work = Path(tmp)
        check_schema(argv, work)
        say("ok   generate-json-schema: lists " + ", ".join(
            m for methods in REQUIRED_METHODS.values() for m in methods))
        say(f"ok   schema shapes: DynamicToolSpec for {len(TOOL_NAMES)} tools, "
            "DynamicToolCallResponse with inputText")
        info = asyncio.run(_handshake(argv, work))
        say(f"ok   handshake: initialize ({info['user_agent']}), initialized, thread/start "
            f"with {len(TOOL_NAMES)} dynamic tools (thread {info['thread_id']})")
