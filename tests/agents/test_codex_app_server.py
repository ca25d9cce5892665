"""The real ``codex app-server``, offline: probe, schema, handshake, dynamic tools.

These tests skip, saying why, where codex is not installed. They need no network and no
credentials: codex runs with an empty temporary ``HOME``/``CODEX_HOME``.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from maestro.agents.appserver import AppServerClient, RpcError
from maestro.agents.probes.appserver import REQUIRED_METHODS, _methods, check_schema
from maestro.agents.tools import TOOL_NAMES, dynamic_tools
from maestro.lanes.sessions.agent_run import APPROVAL_DECLINES

from .helpers import find_codex

pytestmark = pytest.mark.codex


def run_probe(command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "maestro", "protocol", "probe",
                           "--codex", command], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def schema_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The schema the installed codex generates, once for this module."""
    codex = find_codex()
    if codex is None:
        pytest.skip("the real codex is not installed (see the codex fixture)")
    home = tmp_path_factory.mktemp("schema-home")
    out = home / "schema"
    subprocess.run([str(codex), "app-server", "generate-json-schema", "--experimental",
                    "--out", str(out)], check=True, capture_output=True, timeout=60,
                   env={**os.environ, "HOME": str(home)})
    return out


def isolated_env(home: Path) -> dict[str, str]:
    (home / ".codex").mkdir(parents=True, exist_ok=True)
    return {"PATH": os.environ.get("PATH", ""), "HOME": str(home),
            "CODEX_HOME": str(home / ".codex")}


async def handshake(codex: Path, home: Path, tools: list[dict[str, Any]]) -> dict[str, Any]:
    """initialize → initialized → thread/start; returns both results."""
    cwd = home / "work"
    cwd.mkdir(parents=True, exist_ok=True)
    events: list[str] = []

    async def no_requests(method: str, params: dict[str, Any]) -> dict[str, Any]:
        raise LookupError(method)

    client = AppServerClient([str(codex), "app-server"], cwd, isolated_env(home),
                             lambda method, params: events.append(method), no_requests,
                             response_timeout=30)
    await client.start()
    try:
        init = await client.request("initialize", {
            "clientInfo": {"name": "maestro-test", "version": "0"},
            "capabilities": {"experimentalApi": True}})
        await client.notify("initialized", {})
        thread = await client.request("thread/start", {
            "cwd": str(cwd), "dynamicTools": tools, "developerInstructions": "test"})
    finally:
        await client.close()
    return {"initialize": init, "thread": thread, "events": events}


def test_probe_prints_probe_ok_for_the_real_codex(codex: Path) -> None:
    proc = run_probe(str(codex))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "PROBE_OK"


def test_schema_lists_every_method_maestro_uses(schema_dir: Path) -> None:
    for name, wanted in REQUIRED_METHODS.items():
        present = set(_methods(json.loads((schema_dir / name).read_text())))
        assert set(wanted) <= present, name


def test_check_schema_passes_on_the_real_binary(codex: Path, tmp_path: Path) -> None:
    docs = check_schema([str(codex)], tmp_path)
    assert "item/tool/call" in set(_methods(docs["ServerRequest.json"]))


def test_dynamic_tools_validate_against_the_schema(schema_dir: Path) -> None:
    bundle = json.loads((schema_dir / "codex_app_server_protocol.v2.schemas.json").read_text())
    spec = {**bundle["definitions"]["DynamicToolSpec"], "definitions": bundle["definitions"]}
    validator = jsonschema.Draft7Validator(spec)  # one validator: the bundle is large
    for tool in dynamic_tools():
        validator.validate(tool)


def test_tool_answers_validate_against_the_schema(schema_dir: Path) -> None:
    response = json.loads((schema_dir / "DynamicToolCallResponse.json").read_text())
    jsonschema.validate({"success": False, "contentItems": [
        {"type": "inputText", "text": "refused: unknown tool"}]}, response)


@pytest.mark.parametrize("method", sorted(APPROVAL_DECLINES))
def test_approval_declines_validate_against_the_schema(schema_dir: Path, method: str) -> None:
    names = {
        "item/commandExecution/requestApproval": "CommandExecutionRequestApprovalResponse",
        "item/fileChange/requestApproval": "FileChangeRequestApprovalResponse",
        "item/permissions/requestApproval": "PermissionsRequestApprovalResponse",
        "execCommandApproval": "ExecCommandApprovalResponse",
        "applyPatchApproval": "ApplyPatchApprovalResponse",
    }
    schema = json.loads((schema_dir / f"{names[method]}.json").read_text())
    jsonschema.validate(APPROVAL_DECLINES[method], schema)


def test_handshake_with_the_real_codex(codex: Path, tmp_path: Path) -> None:
    result = asyncio.run(handshake(codex, tmp_path / "home", []))
    init = result["initialize"]
    assert init["platformFamily"] == "unix"
    assert init["codexHome"] == str(tmp_path / "home" / ".codex")


def test_thread_start_accepts_maestro_dynamic_tools(codex: Path, tmp_path: Path) -> None:
    result = asyncio.run(handshake(codex, tmp_path / "home", dynamic_tools()))
    assert result["thread"]["thread"]["id"]
    assert len(TOOL_NAMES) == len(dynamic_tools())


def test_thread_start_rejects_a_tool_name_outside_the_pattern(codex: Path,
                                                              tmp_path: Path) -> None:
    """The acceptance above means something: codex does validate dynamic tools."""
    bad = [{"type": "function", "name": "bad name!", "description": "x",
            "inputSchema": {"type": "object"}}]
    with pytest.raises(RpcError, match="must match"):
        asyncio.run(handshake(codex, tmp_path / "home", bad))
