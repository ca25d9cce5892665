"""Where lane branches become pull requests: ``local`` is embedded; GitHub is a service."""

from __future__ import annotations

from typing import TYPE_CHECKING

from maestro.errors import ConfigError
from maestro.forges.base import Forge

if TYPE_CHECKING:
    from maestro.config.service import ServiceConfig
    from maestro.config.workflow import Workflow

__all__ = ["Forge", "make_forge"]


def make_forge(config: ServiceConfig, workflow: Workflow) -> Forge:
    policy = workflow.policy.forge
    if policy.provider == "local":
        from maestro.forges.check_sandbox import check_sandbox
        from maestro.forges.local import LocalForge

        return LocalForge(config.repo_root, policy.remote,
                          workflow.policy.execution.validation_commands,
                          workflow.policy.execution.validation_timeout_s,
                          config.agent.env_passthrough, check_sandbox(config, workflow),
                          workflow.policy.hooks.script("after_create"),
                          workflow.policy.hooks.timeout_ms / 1000)
    if policy.provider == "github":
        from maestro.forges.github import from_config

        return from_config(config, workflow)
    raise ConfigError(
        f"{workflow.source}: forge.provider: {policy.provider!r} is not available in this "
        "build; expected 'local' or 'github'"
    )
