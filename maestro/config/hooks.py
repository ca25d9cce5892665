"""``[hooks]`` in ``WORKFLOW.md``: Symphony's workspace hooks (SPEC §5.3.4, §9.4).

Each hook is a shell script run in the lane worktree (see :mod:`maestro.lanes.worktree.hooks`):
``after_create`` once a new worktree exists, ``before_run`` before every agent session,
``after_run`` after it, ``before_remove`` before maestro deletes the worktree. The same keys
work in TOML (``[hooks]``) and in Symphony's YAML front matter (``hooks:``). A hook is
repository policy: it is read from the workflow maestro loaded (the lane's snapshot), never
from the agent's copy in its worktree.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

HookName = Literal["after_create", "before_run", "after_run", "before_remove"]
HOOK_NAMES: tuple[HookName, ...] = ("after_create", "before_run", "after_run", "before_remove")
#: Symphony's default (``hooks.timeout_ms``), for every hook.
DEFAULT_TIMEOUT_MS = 60_000


class HooksPolicy(BaseModel):
    """Scripts by hook name (None: no hook) and the timeout each run gets, in milliseconds."""

    model_config = ConfigDict(extra="forbid")

    after_create: str | None = None
    before_run: str | None = None
    after_run: str | None = None
    before_remove: str | None = None
    timeout_ms: int = Field(default=DEFAULT_TIMEOUT_MS, gt=0, le=86_400_000)

    def script(self, name: HookName) -> str | None:
        """The script for ``name``, or None when it is unset or blank."""
        value: str | None = getattr(self, name)
        return value if value and value.strip() else None
