"""Everything one lane process needs, built once: config, policy snapshot, adapters, state."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

from maestro.config.service import ServiceConfig
from maestro.config.workflow import Workflow, load_workflow
from maestro.forges import Forge, make_forge
from maestro.ids import branch_name
from maestro.lanes.record.state import LaneState
from maestro.lanes.worktree.workspace import Workspace, worktree_path
from maestro.trackers import Tracker, make_tracker

SNAPSHOT = "workflow.snapshot.md"
LAST_GOOD = "workflow.last-good.md"


def remember_good_workflow(config: ServiceConfig, text: str) -> None:
    """Keep the last valid WORKFLOW.md so new lanes can start while the file is broken."""
    from maestro.fsutil import write_atomic

    path = config.state_root / LAST_GOOD
    if not path.exists() or path.read_text() != text:
        write_atomic(path, text)


def current_workflow_text(config: ServiceConfig) -> str:
    """WORKFLOW.md if valid, else the last good copy (a warning is journaled by callers)."""
    from maestro.config.workflow import parse_workflow
    from maestro.errors import ConfigError

    try:
        workflow = load_workflow(config.workflow_path)
    except ConfigError:
        fallback = config.state_root / LAST_GOOD
        if not fallback.exists():
            raise
        text = fallback.read_text()
        parse_workflow(text, config.workflow_path)
        return text
    text = workflow.source.read_text()
    remember_good_workflow(config, text)
    return text


@dataclass
class LaneContext:
    config: ServiceConfig
    identifier: str
    state: LaneState = field(init=False)
    #: True once this process classified the lane; landing then trusts ``review.json``.
    fresh_review: bool = False

    def __post_init__(self) -> None:
        self.state = LaneState(self.config.lanes_root, self.identifier)

    @functools.cached_property
    def workflow(self) -> Workflow:
        """The policy the lane started with; a running lane keeps its snapshot (§4)."""
        from maestro.config.template_checks import TemplateChecks
        from maestro.config.workflow import parse_workflow

        snapshot = self.state.path(SNAPSHOT)
        text = snapshot.read_text() if snapshot.exists() else current_workflow_text(self.config)
        return parse_workflow(text, self.config.workflow_path,
                              TemplateChecks.of_state(self.config.state_root))

    def take_snapshot(self) -> None:
        from maestro.fsutil import write_atomic

        self.state.dir.mkdir(parents=True, exist_ok=True)
        write_atomic(self.state.path(SNAPSHOT), current_workflow_text(self.config))
        self.__dict__.pop("workflow", None)

    @functools.cached_property
    def tracker(self) -> Tracker:
        return make_tracker(self.config, self.workflow)

    @functools.cached_property
    def forge(self) -> Forge:
        return make_forge(self.config, self.workflow)

    @property
    def branch(self) -> str:
        return branch_name(self.identifier, self.workflow.policy.forge.branch_prefix)

    @property
    def worktree(self) -> Path:
        return worktree_path(self.config.workspace_root, self.identifier)

    def workspace(self) -> Workspace:
        return Workspace(self.config.repo_root, self.worktree, self.branch)

    @property
    def workspace_relpath(self) -> str:
        return self.workspace().relative_path

    def close(self) -> None:
        for name in ("tracker", "forge"):
            adapter = self.__dict__.get(name)
            if adapter is not None:
                adapter.close()
