"""``maestro protocol probe`` names the exact check that fails (no real codex needed)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from maestro.agents.probes.appserver import check_schema
from maestro.agents.probes.common import ProbeFailed


def run_probe(command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "maestro", "protocol", "probe",
                           "--codex", command], capture_output=True, text=True, timeout=120)


def test_probe_names_a_missing_binary() -> None:
    proc = run_probe("/nonexistent/codex")
    assert proc.returncode == 1
    assert proc.stdout.strip() == (
        "PROBE_FAILED codex on PATH: '/nonexistent/codex' not found on PATH "
        "(install @openai/codex or pass --codex CMD)")


def test_probe_names_a_method_missing_from_the_schema(tmp_path: Path) -> None:
    """A stand-in codex whose schema lacks ``item/tool/call``: the probe says exactly that."""
    fake = tmp_path / "fake-codex"
    fake.write_text(textwrap.dedent(f"""\
        #!{sys.executable}
        import json, pathlib, sys
        out = pathlib.Path(sys.argv[sys.argv.index("--out") + 1])
        out.mkdir(parents=True)
        methods = {{
            "ClientRequest.json": ["initialize", "thread/start", "turn/start"],
            "ClientNotification.json": ["initialized"],
            "ServerNotification.json": ["thread/status/changed", "turn/completed",
                                        "turn/started", "thread/tokenUsage/updated"],
            "ServerRequest.json": ["item/commandExecution/requestApproval"],
        }}
        for name, names in methods.items():
            doc = {{"oneOf": [{{"properties": {{"method": {{"enum": [m]}}}}}} for m in names]}}
            (out / name).write_text(json.dumps(doc))
        """))
    fake.chmod(0o755)
    proc = run_probe(str(fake))
    assert proc.returncode == 1
    assert proc.stdout.strip().splitlines()[-1] == (
        "PROBE_FAILED schema lists item/tool/call: 'item/tool/call' not in ServerRequest.json")


def test_probe_failure_is_raised_as_probe_failed(tmp_path: Path) -> None:
    with pytest.raises(ProbeFailed, match="generate-json-schema"):
        check_schema(["/bin/false"], tmp_path)
