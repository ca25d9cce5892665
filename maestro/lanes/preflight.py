"""Faults no retry can fix, found before a lane claims its issue (DESIGN trust rule 5).

A base branch that does not exist, an ``origin`` that is missing or unreachable, an agent
command that is not installed, a WORKFLOW.md body that does not render: each would fail
every attempt the same way, so spending ``max_attempts`` agent runs (and their backoff) on
it only delays the message. The claim phase runs :func:`check` first; a problem takes the
attention path at once with the tool's own words (see docs/reliability.md).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from maestro.agents.launch import agent_argv
from maestro.agents.tools import TOOL_CONTRACT
from maestro.config.service import ServiceConfig
from maestro.config.workflow import Workflow
from maestro.errors import ConfigError
from maestro.git import git_env
from maestro.lanes.worktree import remote_heads
from maestro.model import Issue

#: git's exit code for ``ls-remote --exit-code`` when the remote has no matching ref.
_NO_MATCHING_REF = 2
REMOTE_TIMEOUT_S = 60.0
_CREDENTIALS = re.compile(r"://[^/@\s]+@")


def remote_env(config: ServiceConfig, workflow: Workflow) -> dict[str, str]:
    """git's environment for reading the remote as maestro's pushes reach it: with the
    GitHub forge, the token as an HTTP header (in memory only), exactly as for a push."""
    if workflow.policy.forge.provider != "github":
        return git_env()
    from maestro.forges.github import auth_config
    from maestro.git import git
    from maestro.trackers.http import secret_from_env

    token = secret_from_env(config.github.token_env_var, "GitHub token",
                            "github.token_env_var")
    url = git(config.repo_root, "remote", "get-url", workflow.policy.forge.remote,
              check=False)
    return git_env(config.repo_root, auth_config(token, url))


def remote_problem(repo_root: Path, remote: str, base_branch: str,
                   env: dict[str, str] | None = None, lane_branch: str | None = None
                   ) -> str | None:
    """Why lanes cannot start from ``remote``/``base_branch``, or None.

    Run from the repository root, so a relative remote URL resolves as git resolves it.
    ``lane_branch``: asked for in the same call, so prepare knows whether origin has it
    (:mod:`maestro.lanes.worktree.remote_heads`); its absence is no problem."""
    patterns = [f"refs/heads/{base_branch}"]
    if lane_branch is not None and lane_branch != base_branch:
        patterns.append(f"refs/heads/{lane_branch}")
    try:
        proc = subprocess.run(
            ["git", "ls-remote", "--exit-code", remote, *patterns],
            cwd=repo_root, capture_output=True, text=True,
            errors="replace", env=env or git_env(repo_root),
            stdin=subprocess.DEVNULL, timeout=REMOTE_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        return f"git remote {remote!r} did not answer within {REMOTE_TIMEOUT_S:g}s"
    except OSError as exc:
        return f"cannot run git: {exc}"
    if proc.returncode == 0 and _base_listed(proc.stdout, patterns):
        remote_heads.remember(repo_root, remote, base_branch, proc.stdout)
        if len(patterns) > 1 and lane_branch is not None:
            remote_heads.remember(repo_root, remote, lane_branch, proc.stdout)
        return None
    if proc.returncode in (0, _NO_MATCHING_REF):  # 0: only the lane branch matched
        return (f"the base branch {base_branch!r} does not exist on git remote {remote!r} "
                "(set forge.base_branch in WORKFLOW.md to a branch that exists)")
    words = (proc.stderr or proc.stdout).strip().splitlines()
    detail = " ".join(line.strip() for line in words[:3]) or f"exit code {proc.returncode}"
    detail = _CREDENTIALS.sub("://", detail)  # the text goes into a tracker comment
    return f"git remote {remote!r} cannot be read: {detail}"


def _base_listed(output: str, patterns: list[str]) -> bool:
    """Whether a line of ``ls-remote`` output matched the base pattern (``patterns[0]``),
    as ``--exit-code`` alone would say when the base was asked for alone: git matches a
    pattern against the end of a ref name; a line naming exactly the lane branch is the
    lane pattern's."""
    base, others = patterns[0], patterns[1:]
    for line in output.splitlines():
        ref = line.partition("\t")[2].strip()
        if ref in others:
            continue
        if ref == base or ref.endswith("/" + base):
            return True
    return False


def agent_problem(argv: list[str], env_path: str | None = None) -> str | None:
    """Why the agent command cannot start, or None (``argv[0]`` looked up like exec does)."""
    if not argv:
        return "agent.command is empty"
    program = argv[0]
    if os.sep in program:
        found = os.access(program, os.X_OK) and not os.path.isdir(program)
    else:
        found = shutil.which(program, path=env_path) is not None
    if found:
        return None
    return f"agent command {program!r} was not found on PATH (agent.command in maestro.toml)"


def template_problem(workflow: Workflow, repo_root: Path, issue: Issue) -> str | None:
    """Why the agent's instructions cannot be rendered for ``issue``, or None."""
    try:
        workflow.developer_instructions(repo_root, issue, TOOL_CONTRACT, attempt=1)
    except ConfigError as exc:
        return str(exc)
    return None


def problems(config: ServiceConfig, workflow: Workflow, issue: Issue,
             lane_branch: str | None = None) -> list[str]:
    """Every preflight fault, in the order a person would fix them (empty: all clear).
    ``lane_branch``: also read from the remote, for prepare (no problem when absent)."""
    forge = workflow.policy.forge
    found = [
        remote_problem(config.repo_root, forge.remote, forge.base_branch,
                       remote_env(config, workflow), lane_branch),
        agent_problem(agent_argv(config.agent, workflow.policy.agent)),
        template_problem(workflow, config.repo_root, issue),
    ]
    return [problem for problem in found if problem]
