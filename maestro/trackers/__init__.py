"""Issue sources: the ``files`` tracker is embedded; Linear and GitHub Issues are services."""

from __future__ import annotations

from typing import TYPE_CHECKING

from maestro.errors import ConfigError
from maestro.trackers.base import Tracker

if TYPE_CHECKING:
    from maestro.config.service import ServiceConfig
    from maestro.config.workflow import Workflow

__all__ = ["Tracker", "make_tracker"]


def make_tracker(config: ServiceConfig, workflow: Workflow) -> Tracker:
    policy = workflow.policy.tracker
    if policy.provider == "files":
        from maestro.trackers.files import FilesTracker

        return FilesTracker(config.repo_root / policy.path, policy.issue_prefix,
                            cache_dir=config.state_root / "cache")
    if policy.provider == "linear":
        from maestro.trackers import linear

        return linear.from_config(config, workflow)
    if policy.provider == "github":
        from maestro.trackers import github

        return github.from_config(config, workflow)
    raise ConfigError(
        f"{workflow.source}: tracker.provider: {policy.provider!r} is not available in this "
        "build; expected 'files'"
    )
