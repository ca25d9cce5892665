"""``maestro.toml``: the service configuration of one machine (SPEC-NOTES §9).

It says where things are and which environment variables hold secrets; repository policy
lives in ``WORKFLOW.md`` instead. Paths in the file are relative to the file's folder.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError, field_validator

from maestro.config.locate import CONFIG_NAME, Signature, candidate_paths, file_signature
from maestro.config.locate import git_toplevel as _git_toplevel
from maestro.config.paths import expand_path
from maestro.config.validation import describe_validation_error, reject_secrets
from maestro.errors import ConfigError

SCRIPTED_AGENT = "python -m maestro.agents.scripted"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TrackerService(_Section):
    api_key_env_var: str = "LINEAR_API_KEY"
    endpoint: str = "https://api.linear.app/graphql"
    timeout_s: float = Field(default=30.0, gt=0)
    # Linear and GitHub Issues adapters (docs/guide/trackers.md): issues per page of a
    # candidates query, identifiers per refresh query (one request per tick up to this many
    # lanes), attempts per request, and the longest rate-limit wait honoured before giving up.
    page_size: int = Field(default=50, ge=1, le=250)
    refresh_batch_size: int = Field(default=250, ge=1, le=250)
    max_attempts: int = Field(default=5, ge=1, le=20)
    max_rate_limit_wait_s: float = Field(default=60.0, ge=0)


class GithubService(_Section):
    token_env_var: str = "GITHUB_TOKEN"
    api_url: str = "https://api.github.com"
    graphql_url: str = "https://api.github.com/graphql"
    repository: str | None = Field(default=None, pattern=r"^[\w.-]+/[\w.-]+$")


class AgentService(_Section):
    command: str = SCRIPTED_AGENT
    #: ``app-server`` (Codex's protocol, also the scripted agent's), ``claude-code``
    #: (headless ``claude -p``) or ``acp`` (any Agent Client Protocol agent); the last two
    #: take the issue tools over MCP. docs/spec/agents.md.
    transport: Literal["app-server", "claude-code", "acp"] = "app-server"
    idle_timeout_s: float = Field(default=300.0, gt=0)
    turn_timeout_s: float = Field(default=3600.0, gt=0)
    response_timeout_s: float = Field(default=60.0, gt=0)
    startup_timeout_s: float = Field(default=60.0, gt=0)
    #: A lane process whose heartbeat (``activity.json``) is older than this is hung
    #: outside the agent protocol; the loop kills it and stops the lane for a human.
    lane_stall_timeout_s: float = Field(default=3600.0, gt=0)
    #: Variables of maestro's environment the agent and the validation commands may see,
    #: beyond the minimal allow list of :mod:`~maestro.containment.childenv`
    #: (e.g. ``OPENAI_API_KEY``).
    env_passthrough: list[str] = Field(default_factory=list)
    #: ``"bubblewrap"`` runs the agent and the validation commands with the repository's
    #: control files read-only (:mod:`~maestro.containment.sandbox`); ``"none"`` runs them as
    #: they are.
    sandbox: Literal["none", "bubblewrap"] = "none"

    @field_validator("env_passthrough")
    @classmethod
    def _variable_names(cls, value: list[str]) -> list[str]:
        bad = [name for name in value if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name)]
        if bad:
            raise ValueError(f"not environment variable names: {bad}")
        return value

    @field_validator("command")
    @classmethod
    def _parses_as_argv(cls, value: str) -> str:
        try:
            argv = shlex.split(value)
        except ValueError as exc:
            raise ValueError(f"not a valid command line: {exc}") from None
        if not argv:
            raise ValueError("must not be empty")
        return value

    def argv(self) -> list[str]:
        import sys

        argv = shlex.split(self.command)
        if argv[0] == "python":
            argv[0] = sys.executable
        return argv


class OperatorHttp(_Section):
    listen_address: str | None = Field(default=None, pattern=r"^[\w.:\[\]-]+:\d{1,5}$")
    #: The variable holding the operator token; required for a non-loopback listen address.
    token_env_var: str = Field(default="MAESTRO_OPERATOR_TOKEN", pattern=r"^[A-Za-z_]\w*$")


class WebhooksService(_Section):
    """Where the webhook secrets are (variable names, never values) and how much to read;
    see :mod:`maestro.operator.webhooks`. The default names are outside the ``MAESTRO_*``
    prefix the agent's environment lets through (they are dropped by name as well)."""

    github_secret_env_var: str = Field(default="GITHUB_WEBHOOK_SECRET",
                                       pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    linear_secret_env_var: str = Field(default="LINEAR_WEBHOOK_SECRET",
                                       pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    #: Bytes of one delivery body; a longer one is refused unread (413).
    max_body_bytes: int = Field(default=1_048_576, ge=1024, le=26_214_400)
    #: Linear deliveries signed longer ago than this are replays (Linear's SDK uses 60 s).
    linear_max_age_s: float = Field(default=60.0, gt=0)


class DispatchService(_Section):
    """Where the loop runs lanes: here (``local``) or as CI jobs (``github-actions``)."""

    mode: Literal["local", "github-actions"] = "local"
    workflow: str = Field(default="maestro.yml", pattern=r"^[\w.-]+$")
    ref: str = "main"
    redispatch_after_s: float = Field(default=900.0, gt=0)
    #: Fork lanes from a pre-imported zygote (docs/guide: warm lane workers).
    warm_workers: StrictBool = True
    warm_restart_after_lanes: int = Field(default=100, ge=1)


class ServiceConfig(_Section):
    id: str = Field(default="maestro", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    repo_root: Path = Path(".")
    workflow_path: Path = Path("WORKFLOW.md")
    workspace_root: Path = Path(".worktrees")
    state_root: Path = Path(".maestro")
    tracker: TrackerService = Field(default_factory=TrackerService)
    github: GithubService = Field(default_factory=GithubService)
    agent: AgentService = Field(default_factory=AgentService)
    operator_http: OperatorHttp = Field(default_factory=OperatorHttp)
    dispatch: DispatchService = Field(default_factory=DispatchService)
    webhooks: WebhooksService = Field(default_factory=WebhooksService)
    source: Path | None = Field(default=None, exclude=True)
    #: :func:`~maestro.config.locate.file_signature` of ``source`` taken before it was read:
    #: what a cache of this validated config may be keyed by (:mod:`maestro.lanes.noop`).
    source_signature: Signature | None = Field(default=None, exclude=True)

    def resolved(self, base: Path) -> ServiceConfig:
        """Make every path absolute against ``base`` (the config file's folder), after
        ``~`` and ``$VAR`` expansion (:func:`~maestro.config.paths.expand_path`)."""
        where = str(self.source or CONFIG_NAME)
        repo = (base / expand_path(self.repo_root, f"{where}: repo_root")).resolve()
        return self.model_copy(
            update={
                "repo_root": repo,
                "workflow_path": repo / expand_path(self.workflow_path,
                                                    f"{where}: workflow_path"),
                "workspace_root": repo / expand_path(self.workspace_root,
                                                     f"{where}: workspace_root"),
                "state_root": repo / expand_path(self.state_root, f"{where}: state_root"),
            }
        )

    @property
    def lanes_root(self) -> Path:
        return self.state_root / "lanes"

    def secret_env_vars(self) -> set[str]:
        """Every variable this service reads a secret from; never passed to the agent."""
        return {self.tracker.api_key_env_var, self.github.token_env_var,
                self.webhooks.github_secret_env_var, self.webhooks.linear_secret_env_var,
                self.operator_http.token_env_var}


def load_config(explicit: Path | None = None, cwd: Path | None = None) -> ServiceConfig:
    """Find and parse the service config; with none found, the embedded defaults apply."""
    cwd = (cwd or Path.cwd()).resolve()
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"{explicit}: config file not found (given with --config)")
        return parse_config_file(explicit)
    for path in candidate_paths(cwd):
        if path.is_file():
            return parse_config_file(path)
    return ServiceConfig().resolved(_git_toplevel(cwd) or cwd)


def parse_config_file(path: Path) -> ServiceConfig:
    signature = file_signature(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))  # a BOM is not junk
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: expected UTF-8 TOML text, found binary data") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    reject_secrets(path, data)
    try:
        config = ServiceConfig.model_validate(data)
    except ValidationError as exc:
        raise describe_validation_error(path, exc) from None
    config.source = path  # named in expansion errors
    resolved = config.resolved(path.parent.resolve())
    resolved.source = path
    resolved.source_signature = signature
    return resolved
