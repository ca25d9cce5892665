"""``WORKFLOW.md``: the repository's policy for agents (SPEC-NOTES §9).

Front matter between ``+++`` lines is TOML (maestro's form); between ``---`` lines it is YAML
(the form Symphony users already have). The Markdown body is the instruction text the agent
reads first. A lane keeps the policy snapshot it started with.
"""

from __future__ import annotations

import io
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError, model_validator
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from maestro.config.budget import BudgetPolicy
from maestro.config.hooks import HooksPolicy
from maestro.config.prompt import check_template, render_prompt, template_attempt
from maestro.config.symphony import looks_like_symphony
from maestro.config.symphony_front import read_symphony
from maestro.config.template_checks import TemplateChecks
from maestro.config.validation import describe_validation_error, reject_absolute, reject_secrets
from maestro.errors import ConfigError
from maestro.model import Issue
from maestro.statenames import resolve_state, state_key, state_keys

MAX_WORKFLOW_BYTES = 1_000_000


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TrackerPolicy(_Section):
    provider: Literal["files", "linear", "github"] = "files"
    project_slug: str | None = None
    path: str = "issues"
    issue_prefix: str = Field(default="MAE", pattern=r"^[A-Za-z][A-Za-z0-9]{0,15}$")
    repository: str | None = Field(default=None, pattern=r"^[\w.-]+/[\w.-]+$")
    startable_states: list[str] = Field(default_factory=lambda: ["Todo"], min_length=1)
    terminal_states: list[str] = Field(
        default_factory=lambda: ["Done", "Canceled", "Duplicate"], min_length=1
    )
    #: An issue must carry every one of these labels (case-insensitively) to start or
    #: keep running; a blank entry matches no issue (Symphony ``tracker.required_labels``).
    required_labels: list[str] = Field(default_factory=list)
    in_progress_state: str = "In Progress"
    success_state: str = "In Review"
    completed_state: str | None = None
    failure_state: str = "Todo"
    opt_out_label: str = "maestro:manual-only"
    needs_attention_label: str = "maestro:needs-attention"
    state_labels: dict[str, str] = Field(
        default_factory=lambda: {
            "Todo": "status:todo",
            "In Progress": "status:in-progress",
            "In Review": "status:in-review",
        }
    )
    # GitHub Issues only (docs/guide/trackers.md): the state of an open issue without any
    # state label, and the state each close reason maps to.
    unlabeled_state: str = "Backlog"
    closed_states: dict[str, str] = Field(
        default_factory=lambda: {
            "COMPLETED": "Done",
            "NOT_PLANNED": "Canceled",
            "DUPLICATE": "Duplicate",
        }
    )

    @model_validator(mode="after")
    def _states_are_consistent(self) -> TrackerPolicy:
        terminal = state_keys(self.terminal_states)
        for name in ("in_progress_state", "success_state"):
            if state_key(getattr(self, name)) in terminal:
                raise ValueError(f"{name} must not be one of terminal_states")
        clash = terminal & state_keys(self.startable_states)
        if clash:
            raise ValueError(f"startable_states and terminal_states overlap: {sorted(clash)}")
        return self

    def resolved_completed_state(self) -> str | None:
        """``completed_state``, else ``Done`` when ``Done`` is terminal, else unresolved."""
        if self.completed_state:
            return self.completed_state
        for state in self.terminal_states:
            if state_key(state) == "done":
                return state
        return None

    def named_states(self) -> list[str]:
        """Every state this policy names, in lane order, each once (case-insensitively)."""
        names = [*self.startable_states, self.in_progress_state, self.success_state,
                 self.failure_state, *([self.completed_state] if self.completed_state else []),
                 *self.terminal_states, *self.state_labels, self.unlabeled_state,
                 *self.closed_states.values()]
        unique: dict[str, str] = {}
        for name in names:
            unique.setdefault(state_key(name), name)
        return list(unique.values())

    def named_state(self, state: str) -> str | None:
        """The policy's spelling of ``state`` (matched by :func:`maestro.statenames.state_key`:
        case, whitespace and Unicode forms do not matter), or None."""
        return resolve_state(state, self.named_states())

    def is_terminal(self, state: str) -> bool:
        return state_key(state) in state_keys(self.terminal_states)

    def working_states(self) -> frozenset[str]:
        """The states (casefolded, :func:`~maestro.statenames.state_key`) a working lane
        works in: the startable states, In Progress and In Review (Symphony's active
        states). Any other state is a person's move that stops it."""
        return state_keys([self.in_progress_state, self.success_state,
                           *self.startable_states])

    def moves_in_steps(self) -> bool:
        """Whether a transition takes several writes a cut can split: GitHub Issues (a
        status label added, the old one removed, or the issue closed); Linear and the
        files tracker move in one write (:mod:`maestro.lanes.record.moves`)."""
        return self.provider == "github"

    def is_cancelled(self, state: str) -> bool:
        """``state`` is terminal and not the completed state (Canceled, Duplicate): a
        person called the work off, so the lane's open PR is closed. An issue Done with
        its PR open is a person's to settle (the review classifier says the same)."""
        completed = self.resolved_completed_state()
        return self.is_terminal(state) and not (
            completed is not None and state_key(state) == state_key(completed))

    def is_startable(self, state: str) -> bool:
        return state_key(state) in state_keys(self.startable_states)


class AgentPolicy(_Section):
    transport: Literal["app-server"] = "app-server"
    personality: str | None = None
    service_tier: str | None = None
    #: A shell command the lane runs with ``bash -lc`` in its worktree instead of
    #: maestro.toml's default (Symphony ``codex.command``); maestro.toml's explicit
    #: ``[agent] command`` still wins (:func:`maestro.agents.launch.agent_argv`).
    command: str | None = Field(default=None, min_length=1)


class ExecutionPolicy(_Section):
    max_attempts: int = Field(default=3, ge=1, le=100)
    max_turns: int = Field(default=20, ge=1, le=1000)
    max_retry_backoff_ms: int = Field(default=300_000, ge=0)
    max_concurrent_agents: int = Field(default=10, ge=1, le=1000)
    max_concurrent_agents_by_state: dict[str, int] = Field(default_factory=dict)
    validation_commands: list[str] = Field(default_factory=list)
    validation_timeout_s: float = Field(default=900.0, gt=0)
    max_repair_rounds: int = Field(default=3, ge=0, le=100)


class ContextPolicy(_Section):
    read_first: list[str] = Field(default_factory=list)


class ForgePolicy(_Section):
    provider: Literal["local", "github"] = "local"
    remote: str = "origin"
    base_branch: str = "main"
    branch_prefix: str = Field(default="maestro/", pattern=r"^[A-Za-z0-9._/-]*$")
    merge_method: Literal["merge", "squash", "rebase"] = "merge"
    required_approvals: int = Field(default=1, ge=0)
    #: An approval counts only for the head it was given on: code an agent pushed after a
    #: review (a repair round, a conflict merge) is never landed on an older approval.
    dismiss_stale_approvals: StrictBool = True
    delete_branch_on_merge: StrictBool = True


class WorkflowPolicy(_Section):
    version: Literal[1] = 1
    tracker: TrackerPolicy = Field(default_factory=TrackerPolicy)
    agent: AgentPolicy = Field(default_factory=AgentPolicy)
    execution: ExecutionPolicy = Field(default_factory=ExecutionPolicy)
    context: ContextPolicy = Field(default_factory=ContextPolicy)
    forge: ForgePolicy = Field(default_factory=ForgePolicy)
    hooks: HooksPolicy = Field(default_factory=HooksPolicy)
    budget: BudgetPolicy = Field(default_factory=BudgetPolicy)  # maestro/config/budget.py


@dataclass(frozen=True)
class Workflow:
    """A parsed ``WORKFLOW.md``: the policy plus the instruction body."""

    policy: WorkflowPolicy
    body: str
    source: Path
    front_matter_format: Literal["toml", "yaml", "none"] = "none"
    warnings: tuple[str, ...] = field(default=())
    #: The line of ``source`` the body starts on, so template errors name the file's line.
    body_line: int = 1

    def developer_instructions(self, repo_root: Path, issue: Issue, tool_contract: str,
                               attempt: int = 1) -> str:
        """Body first, then the ``read_first`` files, then the tool contract (§9);
        ``attempt`` is the lane's (1-based), shown to the template as Symphony's."""
        parts = [render_prompt(self.body, self.source, issue, template_attempt(attempt),
                               self.body_line)]
        for relative in self.policy.context.read_first:
            path = repo_root / relative
            try:
                text = path.read_text(encoding="utf-8")
            except OSError:
                raise ConfigError(
                    f"{self.source}: context.read_first: file {relative!r} cannot be read"
                ) from None
            parts.append(f"## {relative}\n\n{text}")
        parts.append(tool_contract)
        return "\n\n".join(part.strip() for part in parts if part.strip())


_FRONT = re.compile(r"\A(\+\+\+|---)[ \t]*\r?\n")


def render_template(text: str, issue: Issue, source: Path, attempt: int | None = None) -> str:
    """The body as strict Liquid (:mod:`maestro.config.prompt`); ``attempt`` is the
    template's value (nil on a first run)."""
    return render_prompt(text, source, issue, attempt)


def split_front_matter(text: str, source: Path) -> tuple[str, dict[str, Any], str]:
    """Return (format, front matter mapping, body)."""
    match = _FRONT.match(text)
    if not match:
        return "none", {}, text
    fence = match.group(1)
    rest = text[match.end() :]
    closing = re.search(rf"^{re.escape(fence)}[ \t]*\r?$", rest, flags=re.MULTILINE)  # CRLF too
    if closing is None:
        raise ConfigError(
            f"{source}: front matter opened with {fence!r} on line 1 is never closed; "
            f"expected a line containing only {fence!r}"
        )
    raw = rest[: closing.start()]
    body = rest[closing.end() :].lstrip("\r\n")
    if fence == "+++":
        try:
            return "toml", tomllib.loads(raw), body
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{source}: front matter: invalid TOML: {exc}") from None
    try:
        loaded = YAML(typ="safe", pure=True).load(io.StringIO(raw))
    except YAMLError as exc:
        raise ConfigError(f"{source}: front matter: invalid YAML: {exc}".strip()) from None
    if loaded is None:
        loaded = {}
    if not isinstance(loaded, dict):
        raise ConfigError(
            f"{source}: front matter: expected a mapping of keys, got {type(loaded).__name__}"
        )
    return "yaml", loaded, body


def parse_workflow(text: str, source: Path, checks: TemplateChecks | None = None) -> Workflow:
    """``checks``: bodies that already passed the template check (which is then skipped)."""
    fmt, data, body = split_front_matter(text, source)
    warnings: list[str] = []
    if fmt == "yaml" and looks_like_symphony(data):
        data, warnings = read_symphony(data, source, WorkflowPolicy)
    reject_secrets(source, data)
    try:
        policy = WorkflowPolicy.model_validate(data)
    except ValidationError as exc:
        raise describe_validation_error(source, exc) from None
    reject_absolute(source, "tracker.path", policy.tracker.path)
    for index, entry in enumerate(policy.context.read_first):
        reject_absolute(source, f"context.read_first[{index}]", entry)
    body_line = text[: len(text) - len(body)].count("\n") + 1
    if checks is None or not checks.passed(body):
        check_template(body, source, body_line)
        if checks is not None:
            checks.remember(body)
    return Workflow(policy=policy, body=body, source=source,
                    front_matter_format=fmt,  # type: ignore[arg-type]
                    warnings=tuple(f"{source}: {w}" for w in warnings), body_line=body_line)


def load_workflow(path: Path, checks: TemplateChecks | None = None) -> Workflow:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: workflow file not found; run `maestro init` to write one"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    if len(raw) > MAX_WORKFLOW_BYTES:
        raise ConfigError(
            f"{path}: file is {len(raw)} bytes; expected at most {MAX_WORKFLOW_BYTES}"
        )
    try:
        text = raw.decode("utf-8-sig")  # an editor's BOM must not hide the front matter
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: expected UTF-8 Markdown text, found binary data") from None
    if "\x00" in text:
        raise ConfigError(f"{path}: expected Markdown text, found NUL bytes")
    return parse_workflow(text, path, checks)
