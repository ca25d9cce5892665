"""Helpers for the maintainer smoke tests of the shipped Codex assets.

The checks themselves live in :mod:`maestro.assets.shipped`; this module holds what only the tests
need: which asset tree to check, a throwaway lane repository, and a tiny client for the
real ``codex app-server``. It imports nothing from ``tests/`` because ``nox -s smoke`` runs
this folder on its own against an installed maestro.
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

from maestro.fsutil import read_json
from maestro.scaffold.demo import build_sandbox
from maestro.trackers.files import FilesTracker

#: The asset tree under test: the checkout, unless MAESTRO_ASSETS_ROOT points at a copy
#: (the failure tests run this suite against deliberately broken copies).
ASSETS_ROOT = Path(os.environ.get("MAESTRO_ASSETS_ROOT") or Path(__file__).resolve().parents[1])


class Lane:
    """A throwaway repository (files tracker, local forge, scripted agent) to run lanes in."""

    def __init__(self, root: Path) -> None:
        self.repo, self.origin = build_sandbox(root)
        for path in (self.repo / "issues").glob("DEMO-*.md"):
            path.unlink()
        self.tracker = FilesTracker(self.repo / "issues", "DEMO")

    def add_issue(self, identifier: str, script: str) -> None:
        body = (f"Exercise a shipped skill.\n\n```maestro-script\n"
                f"{textwrap.dedent(script).strip()}\n```\n")
        self.tracker.create(f"Smoke {identifier}", body, identifier=identifier)

    def maestro(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([sys.executable, "-m", "maestro", *args], cwd=self.repo,
                              capture_output=True, text=True, timeout=180, check=False)
        if check and proc.returncode != 0:
            raise AssertionError(f"maestro {' '.join(args)} exited {proc.returncode}:\n"
                                 f"{proc.stdout}\n{proc.stderr}")
        return proc

    def run(self, identifier: str) -> str:
        """Run the lane as far as it goes; return its outcome."""
        self.maestro("lane", identifier, "--quiet", check=False)
        return str((self.file(identifier, "outcome.json") or {}).get("outcome"))

    def file(self, identifier: str, name: str) -> Any:
        return read_json(self.repo / ".maestro" / "lanes" / identifier / name)

    def status_lane(self, identifier: str) -> dict[str, Any]:
        snap = json.loads(self.maestro("status", "--json").stdout)
        return next(lane for lane in snap["lanes"] if lane["issue"] == identifier)


# -- the real codex ---------------------------------------------------------------------------


def find_codex() -> str | None:
    """The real ``codex``: on PATH, in ``.ci/node`` of the checkout, or in /tmp/codexnpm."""
    candidates = [shutil.which("codex"),
                  str(Path(__file__).resolve().parents[1] / ".ci/node/node_modules/.bin/codex"),
                  "/tmp/codexnpm/node_modules/.bin/codex"]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def codex_env(codex_home: Path) -> dict[str, str]:
    """An environment for ``codex`` bound to a throwaway home, with no credentials at all."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
    env = {key: os.environ[key] for key in keep if key in os.environ}
    return {**env, "CODEX_HOME": str(codex_home), "NO_COLOR": "1"}


def app_server_call(codex: str, codex_home: Path, cwd: Path, method: str,
                    params: dict[str, Any], timeout: float = 60) -> dict[str, Any]:
    """Start ``codex app-server``, initialize, make one request and return its result.

    This asks the real binary what it loaded, without a model, a login or the network.
    """
    proc = subprocess.Popen([codex, "app-server"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            cwd=cwd, env=codex_env(codex_home))
    assert proc.stdin is not None and proc.stdout is not None
    try:
        requests = [
            {"id": 1, "method": "initialize", "params": {
                "clientInfo": {"name": "maestro-smoke", "version": "1"},
                "capabilities": {"experimentalApi": True}}},
            {"method": "initialized"},
            {"id": 2, "method": method, "params": params},
        ]
        proc.stdin.write("".join(json.dumps(r) + "\n" for r in requests))
        proc.stdin.flush()
        deadline = time.monotonic() + timeout
        selector = selectors.DefaultSelector()
        selector.register(proc.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if not selector.select(timeout=max(0.0, deadline - time.monotonic())):
                break
            line = proc.stdout.readline()
            if not line:
                break
            message = json.loads(line)
            if message.get("id") == 2 and "method" not in message:
                if "error" in message:
                    raise AssertionError(f"codex {method} failed: {message['error']}")
                return dict(message["result"])
        raise AssertionError(f"codex app-server gave no answer to {method} in {timeout}s")
    finally:
        proc.kill()
        proc.wait()


def run_codex(codex: str, codex_home: Path, cwd: Path, *args: str
              ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([codex, *args], cwd=cwd, env=codex_env(codex_home),
                          capture_output=True, text=True, timeout=120, check=False)
