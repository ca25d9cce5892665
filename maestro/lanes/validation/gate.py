"""Validation of the lane HEAD, run once per content: before anything leaves the machine
(the agent's ``lane_open_pr``), in the validate phase, after a repair.

:mod:`maestro.lanes.validation.commands` is the one runner; this module decides *whether* it
must run.
A result is cached in the lane folder under the HEAD commit and its tree, so the validate
phase does not run the commands again on the head the PR tool just validated. A worktree
with uncommitted changes to tracked files is never cached (the commands saw other content
than the commit).

The lane folder is writable by the agent (it runs as the same user), so a cached result is
signed with a key that exists only in this process's memory: an entry the agent forged, or
one left by an earlier process, does not verify and the commands simply run again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from maestro.containment.childenv import child_env
from maestro.errors import WorkspaceError
from maestro.git import head_and_tree
from maestro.git.tree_hazards import commit_hazards
from maestro.git.worktree_paths import tracked_changes
from maestro.ids import iso_now
from maestro.lanes.confinement.confine import sandbox_prefix
from maestro.lanes.context import LaneContext
from maestro.lanes.validation import litter
from maestro.lanes.validation.commands import run_commands

CACHE = "validation-cache.json"
#: Cached results kept per lane (the newest heads win).
CACHE_SIZE = 8
#: Signs this process's cache entries; never written anywhere.
_PROCESS_KEY = secrets.token_bytes(32)


def signature(key: str, passed: bool, records: list[dict[str, Any]]) -> str:
    """HMAC-SHA256 (hex) of one cache entry under this process's key."""
    body = json.dumps([key, passed, records], sort_keys=True).encode()
    return hmac.new(_PROCESS_KEY, body, hashlib.sha256).hexdigest()


def _verified(key: str, hit: Any) -> bool:
    if not isinstance(hit, dict) or not isinstance(hit.get("records"), list):
        return False
    expected = signature(key, bool(hit.get("passed")), hit["records"])
    return hmac.compare_digest(expected, str(hit.get("sig", "")))


#: Paths named in a refusal; the rest are counted.
NAMED_PATHS = 10


@dataclass(frozen=True)
class Validation:
    """One validation of ``head`` (whose tree is ``tree``). The agent's untracked paths are
    moved aside while the commands run (:func:`~maestro.lanes.validation.litter.commit_only`),
    so they test the commit and the ignored files. ``differ``: the paths that made the
    commands see other files than the commit's all the same: tracked files whose content
    differed from it (judged without the agent's index:
    :func:`~maestro.git.worktree_paths.tracked_changes`), or untracked paths that could not
    be moved aside. With any, the result is not the commit's."""

    head: str
    tree: str
    passed: bool
    differ: tuple[str, ...] = ()
    records: list[dict[str, Any]] = field(default_factory=list)
    cached: bool = False
    hazards: tuple[str, ...] = ()

    @property
    def dirty(self) -> bool:
        """The result does not stand for a checkout of the commit (callers ask this before
        ``passed``: with hazards the commands were not run)."""
        return bool(self.differ or self.hazards)

    @property
    def error_class(self) -> str:
        """The failure class of a dirty result ("" when clean)."""
        return ("unreproducible_commit" if self.hazards
                else "uncommitted_changes" if self.differ else "")

    def failure(self) -> str:
        """The failing command and its output tail, as the agent and the comment see it."""
        if self.passed or not self.records:
            return self.unfaithful()
        last = self.records[-1]
        return (f"`{last['command']}` exited {last['exit_code']}:\n"
                f"{str(last['output_tail'])[-2000:]}")

    def unfaithful(self) -> str:
        """Why this result does not stand for the commit, naming the paths, as the agent
        and a person read it; "" when it does."""
        if self.hazards:
            return ("a commit a checkout elsewhere would not reproduce: "
                    + "; ".join(self.hazards))
        if not self.differ:
            return ""
        shown = ", ".join(repr(path) for path in self.differ[:NAMED_PATHS])
        more = len(self.differ) - NAMED_PATHS
        shown += f" and {more} more" if more > 0 else ""
        return (f"uncommitted changes to tracked files, or untracked paths that could not be "
                f"moved aside while validating ({shown}); validation tested what is on disk, "
                "the commit does not hold it: commit or discard them")


def validation_env(ctx: LaneContext) -> dict[str, str]:
    """The allow-listed environment of the validation commands (they run the agent's code)."""
    return child_env(ctx.config.agent.env_passthrough, ctx.config.secret_env_vars())


def _hazards(ctx: LaneContext, head: str) -> list[str]:
    """:func:`~maestro.git.tree_hazards.commit_hazards` of ``head`` against the
    remote-tracking base branch (``prepare`` fetched it), else the local one when git
    cannot compare with that (asked only then: one process in the usual case). A commit
    that cannot be compared with either (no common history) is a hazard itself: its change
    cannot be judged."""
    forge = ctx.workflow.policy.forge
    try:
        return commit_hazards(ctx.worktree, f"refs/remotes/{forge.remote}/{forge.base_branch}",
                              head)
    except WorkspaceError:
        pass
    try:
        return commit_hazards(ctx.worktree, forge.base_branch, head)
    except WorkspaceError as exc:  # no common history, say: the change cannot be judged
        return [f"the commit cannot be compared with the base branch {forge.base_branch!r} "
                f"({exc})"]


def cache_key(commands: list[str], head: str, tree: str) -> str:
    """Pure: results hold for one command list on one commit with one tree."""
    return "\n".join([head, tree, *commands])


def validate_head(ctx: LaneContext) -> Validation:
    """Run (or recall) the workflow's validation commands on the worktree's HEAD."""
    execution = ctx.workflow.policy.execution
    worktree = ctx.worktree
    head, tree = head_and_tree(worktree)
    differ = tuple(tracked_changes(worktree))
    commands = list(execution.validation_commands)
    key = cache_key(commands, head, tree)
    cache: dict[str, Any] = ctx.state.read(CACHE) or {}
    hit = cache.get(key)
    if not differ and _verified(key, hit):
        assert isinstance(hit, dict)
        return Validation(head, tree, bool(hit["passed"]), (), list(hit["records"]),
                          cached=True)  # made by this process: the head had no hazard
    hazards = tuple(_hazards(ctx, head))
    if hazards:  # what the commands would say does not hold for a checkout of the commit
        return Validation(head, tree, False, differ, hazards=hazards)
    # What validation writes must not reach a commit, even after a kill mid-run; what the
    # agent left untracked is moved aside meanwhile, so the commands see the commit.
    env, prefix = validation_env(ctx), sandbox_prefix(ctx)
    with litter.commit_only(worktree, ctx.state.path(litter.RECORD)) as seen:
        passed, records = run_commands(commands, worktree, execution.validation_timeout_s,
                                       env, prefix)
    differ += tuple(sorted(seen))
    if not differ:
        cache[key] = {"passed": passed, "records": records, "ran_at": iso_now(),
                      "sig": signature(key, passed, records)}
        ctx.state.write(CACHE, dict(list(cache.items())[-CACHE_SIZE:]))
    return Validation(head, tree, passed, differ, records)
