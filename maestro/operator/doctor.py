"""``maestro doctor``: the lane preflight as a command, run before anything is dispatched.

A claim runs :mod:`maestro.lanes.preflight` and sends a fault no retry can fix to a human;
``doctor`` runs the same checks (and the ones a lane takes for granted: a repository, a
valid ``WORKFLOW.md``, a tracker that answers, the labels it needs, a writable state
folder) up front, prints one line per check and exits non-zero naming every problem.

Checks run in the order a person fixes them; a check that needs what an earlier one found
missing is skipped with the reason, never reported as a second problem.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from maestro.config.service import ServiceConfig
from maestro.config.workflow import Workflow
from maestro.errors import LabelMissingError, MaestroError
from maestro.model import Issue

__all__ = ["Check", "checks", "run_doctor"]


@dataclass(frozen=True)
class Check:
    """One line of the report: ``problem`` is None when the check passed; ``skipped`` says
    it could not run (``detail`` says why)."""

    name: str
    detail: str = ""
    problem: str | None = None
    skipped: bool = False

    def line(self) -> str:
        if self.problem is not None:
            return f"FAIL  {self.name}: {self.problem}"
        mark = "skip" if self.skipped else "ok  "
        return f"{mark}  {self.name}" + (f": {self.detail}" if self.detail else "")


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    from maestro.containment.gitguard import git_env

    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True,
                          errors="replace", env=git_env(repo), stdin=subprocess.DEVNULL,
                          timeout=60, check=False)


def _config_check(explicit: Path | None, workflow: Path | None = None
                  ) -> tuple[Check, ServiceConfig | None]:
    from maestro.config.discovery import load_project

    try:
        config = load_project(explicit, workflow=workflow)
    except MaestroError as exc:
        return Check("maestro.toml", problem=str(exc)), None
    where = str(config.source) if config.source else "none found; embedded defaults"
    return Check("maestro.toml", where), config


def _workflow_check(config: ServiceConfig) -> tuple[Check, Workflow | None]:
    from maestro.config.workflow import load_workflow

    try:
        workflow = load_workflow(config.workflow_path)
    except MaestroError as exc:
        return Check("WORKFLOW.md", problem=str(exc)), None
    policy = workflow.policy
    return Check("WORKFLOW.md", f"tracker {policy.tracker.provider}, forge "
                 f"{policy.forge.provider}, base branch {policy.forge.base_branch}"), workflow


def _repository_check(config: ServiceConfig) -> Check:
    proc = _git(config.repo_root, "rev-parse", "--show-toplevel")
    if proc.returncode != 0:
        return Check("git repository", problem=f"{config.repo_root}: not a git repository "
                     "(run `git init`, or set repo_root in maestro.toml)")
    return Check("git repository", proc.stdout.strip())


def _remote_checks(config: ServiceConfig, workflow: Workflow) -> Iterator[Check]:
    from maestro.lanes.preflight import remote_env, remote_problem

    forge = workflow.policy.forge
    proc = _git(config.repo_root, "remote", "get-url", forge.remote)
    if proc.returncode != 0:
        yield Check(f"git remote {forge.remote!r}", problem=(
            f"the repository has no remote {forge.remote!r} (add it: git remote add "
            f"{forge.remote} URL; or set forge.remote in WORKFLOW.md)"))
        yield Check(f"base branch {forge.base_branch!r} on {forge.remote!r}",
                    "needs the remote", skipped=True)
        return
    yield Check(f"git remote {forge.remote!r}", proc.stdout.strip())
    name = f"base branch {forge.base_branch!r} on {forge.remote!r}"
    try:
        problem = remote_problem(config.repo_root, forge.remote, forge.base_branch,
                                 remote_env(config, workflow))
    except MaestroError as exc:  # e.g. the GitHub token variable is not set
        problem = str(exc)
    yield Check(name, problem=problem) if problem else Check(name, "reachable, branch exists")


def _agent_checks(config: ServiceConfig) -> Iterator[Check]:
    import shutil

    from maestro.lanes.preflight import agent_problem

    argv = config.agent.argv()
    problem = agent_problem(argv)
    if problem:
        yield Check("agent command", problem=problem)
        yield Check("agent probe", "needs the agent command", skipped=True)
        return
    yield Check("agent command", f"{config.agent.command} ({shutil.which(argv[0]) or argv[0]})")
    if Path(argv[0]).name != "codex":
        yield Check("agent probe", "only codex app-server has a probe", skipped=True)
        return
    from maestro.agents.probes.appserver import run_checks
    from maestro.agents.probes.common import ProbeFailed

    try:
        run_checks(argv[0], say=lambda line: None)
    except ProbeFailed as exc:
        yield Check("agent probe", problem=f"maestro protocol probe: {exc}")
        return
    yield Check("agent probe", "schema and handshake of codex app-server")


def _tracker_checks(config: ServiceConfig, workflow: Workflow) -> Iterator[Check]:
    from maestro.lanes.preflight import template_problem
    from maestro.trackers import make_tracker

    policy = workflow.policy.tracker
    try:
        tracker = make_tracker(config, workflow)
    except MaestroError as exc:
        yield Check("tracker", problem=str(exc))
        yield Check("tracker labels", "needs the tracker", skipped=True)
        return
    try:
        try:
            found = tracker.candidates(policy.startable_states)
        except MaestroError as exc:
            yield Check("tracker", problem=str(exc))
            yield Check("tracker labels", "needs the tracker", skipped=True)
            return
        yield Check("tracker", f"{policy.provider}: {len(found)} startable issue"
                    f"{'s' * (len(found) != 1)}")
        yield _label_check(tracker, policy.needs_attention_label,
                           found[0].identifier if found else None)
        sample = found[0] if found else Issue(id="doctor", identifier="DOCTOR-1",
                                             title="a sample issue", state="Todo")
        problem = template_problem(workflow, config.repo_root, sample)
        yield (Check("prompt template", problem=problem) if problem
               else Check("prompt template", f"renders for {sample.identifier}"))
    finally:
        tracker.close()


def _label_check(tracker: object, label: str, identifier: str | None) -> Check:
    check_label: Callable[[str, str | None], None] | None = getattr(tracker, "check_label",
                                                                    None)
    if check_label is None:
        return Check("tracker labels", "labels need no setup in this tracker")
    try:
        check_label(label, identifier)
    except LabelMissingError as exc:
        return Check("tracker labels", problem=f"{exc} (without it, an issue that needs a "
                     "human is parked In Progress instead)")
    except MaestroError as exc:
        return Check("tracker labels", problem=str(exc))
    if identifier is None:
        return Check("tracker labels", "no startable issue to check the team's labels on",
                     skipped=True)
    return Check("tracker labels", f"{label!r} exists")


def _state_check(config: ServiceConfig) -> Check:
    """The state root is writable (or can be created): every lane writes there."""
    folder = config.state_root
    existing = next((p for p in (folder, *folder.parents) if p.exists()), Path("/"))
    try:
        if existing == folder:
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".doctor-"):
                pass
        elif not os.access(existing, os.W_OK | os.X_OK):
            raise PermissionError(f"cannot create it: {existing} is not writable")
    except OSError as exc:
        return Check("state folder", problem=f"{folder}: not writable ({exc})")
    return Check("state folder", f"{folder} (writable)")


def checks(explicit: Path | None = None, workflow_path: Path | None = None
           ) -> Iterator[Check]:
    """Every check in order, each yielded as soon as it ran; ``workflow_path``: the
    WORKFLOW.md a command line named (``--workflow``), else the one ``maestro.toml`` names."""
    found, config = _config_check(explicit, workflow_path)
    yield found
    if config is None:
        return
    repository = _repository_check(config)
    yield repository
    found, workflow = _workflow_check(config)
    yield found
    if workflow is not None and repository.problem is None:
        yield from _remote_checks(config, workflow)
    yield from _agent_checks(config)
    if workflow is not None:
        yield from _tracker_checks(config, workflow)
    yield _state_check(config)


def run_doctor(explicit: Path | None = None, say: Callable[[str], None] = print,
               workflow: Path | None = None) -> int:
    """Print each check; 0 when all passed, else 1 after a line naming every problem."""
    problems = []
    for check in checks(explicit, workflow):
        say(check.line())
        if check.problem is not None:
            problems.append(check.name)
    if problems:
        say(f"doctor: {len(problems)} problem{'s' * (len(problems) != 1)}: "
            + ", ".join(problems))
        return 1
    say("doctor: lanes can run here")
    return 0
