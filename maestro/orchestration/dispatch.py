"""Dispatching lanes to CI instead of running them here (``[dispatch] mode``).

With ``mode = "github-actions"`` one small daemon drives many runners: each lane that can
move becomes a ``workflow_dispatch`` of the maestro workflow with the issue as input. The
token comes from the variable named by ``[github] token_env_var`` and never appears in an
error, a log line or the request's URL.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx

from maestro.config.service import ServiceConfig
from maestro.errors import ConfigError, ForgeError
from maestro.fsutil import read_json, write_json
from maestro.ids import check_identifier
from maestro.observability import telemetry

#: The name this client's requests are counted under in ``GET /metrics``.
SERVICE = "github actions"


class ActionsDispatcher:
    def __init__(self, config: ServiceConfig, client: httpx.Client | None = None) -> None:
        self.config = config
        settings = config.dispatch
        repository = config.github.repository
        if not repository:
            raise ConfigError(f"{config.source}: github.repository: expected 'owner/name' "
                              "for dispatch mode 'github-actions'")
        token = os.environ.get(config.github.token_env_var)
        if not token:
            raise ConfigError(f"environment variable {config.github.token_env_var} (named by "
                              "github.token_env_var) is not set; dispatch needs a token")
        self.url = (f"{config.github.api_url.rstrip('/')}/repos/{repository}/actions/"
                    f"workflows/{settings.workflow}/dispatches")
        self.ref = settings.ref
        self.redispatch_after_s = settings.redispatch_after_s
        self.client = client or httpx.Client(timeout=30.0)
        self._headers = {"Authorization": f"Bearer {token}",
                         "Accept": "application/vnd.github+json",
                         "X-GitHub-Api-Version": "2022-11-28"}
        self.memory = config.state_root / "dispatched.json"

    def recently_dispatched(self, identifier: str) -> bool:
        sent = (read_json(self.memory) or {}).get(identifier)
        return sent is not None and time.time() - float(sent) < self.redispatch_after_s

    def dispatch(self, identifier: str) -> bool:
        """Trigger the lane's job; False when it was triggered recently (CI runs it)."""
        check_identifier(identifier)
        if self.recently_dispatched(identifier):
            return False
        try:
            response = self.client.post(self.url, headers=self._headers,
                                        json={"ref": self.ref, "inputs": {"issue": identifier}})
        except httpx.HTTPError as exc:
            telemetry.current().record_response(SERVICE, None)
            raise ForgeError(f"workflow_dispatch for {identifier} failed: "
                             f"{type(exc).__name__}") from None
        telemetry.current().record_response(SERVICE, response.status_code, response.headers)
        if response.status_code not in (200, 201, 204):
            raise ForgeError(f"workflow_dispatch for {identifier} was refused with HTTP "
                             f"{response.status_code}")
        sent = read_json(self.memory) or {}
        sent[identifier] = time.time()
        write_json(self.memory, sent)
        return True


def dispatched_path(state_root: Path) -> Path:
    return state_root / "dispatched.json"
