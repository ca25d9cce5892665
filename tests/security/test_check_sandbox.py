"""Under ``[agent] sandbox = "bubblewrap"`` the local forge's check runs the PR's code in the
agent's sandbox: its checkout is writable, ``origin`` and the operator's repository and files
are not (``maestro/forges/check_sandbox.py``)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from maestro.config.workflow import load_workflow
from maestro.forges import make_forge
from maestro.forges.check_sandbox import CheckSandbox
from maestro.forges.local import LocalForge
from maestro.model import CheckState
from tests.conftest import Sandbox
from tests.gitrepo import sh
from tests.security.bwrap_support import needs_bwrap

AS_A = ["-c", "user.name=a", "-c", "user.email=a@example.invalid"]


def _pull_request(sandbox: Sandbox, forge: LocalForge) -> int:
    """A PR from a branch with one commit, pushed to the sandbox's ``origin``."""
    sh(sandbox.repo, "branch", "maestro/demo-9", "main")
    worktree = sandbox.root / "pr"
    sh(sandbox.repo, "worktree", "add", "--quiet", str(worktree), "maestro/demo-9")
    (worktree / "feature.txt").write_text("feature\n")
    sh(worktree, "add", "feature.txt")
    sh(worktree, *AS_A, "commit", "--quiet", "-m", "feature")
    sh(sandbox.repo, "push", "--quiet", "origin", "maestro/demo-9")
    return forge.open_pr("maestro/demo-9", "main", "feature", "").number


def test_the_local_forge_checks_in_the_sandbox_exactly_when_the_agent_has_one(
        sandbox: Sandbox) -> None:
    workflow = load_workflow(sandbox.config.workflow_path)
    assert getattr(make_forge(sandbox.config, workflow), "sandbox", "?") is None
    sandbox.set_agent(sandbox="bubblewrap")
    assert isinstance(getattr(make_forge(sandbox.config, workflow), "sandbox", None),
                      CheckSandbox)


@needs_bwrap
def test_under_bubblewrap_the_check_cannot_push_to_origin_or_write_the_operators_files(
        sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.set_agent(sandbox="bubblewrap")
    config = sandbox.config
    said = tmp_path / "said"
    # What the breaker's test file did: clone origin, push to main; plant in the repository.
    command = (f"(echo x > {sandbox.repo}/planted) 2> {said}.repo; "
               f"(echo x >> {sandbox.repo}/WORKFLOW.md) 2> {said}.workflow; "
               f"d=$(mktemp -d -p {tmp_path}) && git clone -q {sandbox.origin} $d/c && cd $d/c && "
               f"git {' '.join(AS_A)} commit -q --allow-empty -m evil && "
               f"git push -q origin HEAD:main 2> {said}.push; echo $? >> {said}.push; "
               "cd - > /dev/null && echo built > out.txt && cat out.txt")
    forge = LocalForge(config.repo_root, "origin", [command], 60.0,
                       sandbox=CheckSandbox(config, load_workflow(config.workflow_path)))
    main = sandbox.origin_log()
    workflow_text = (sandbox.repo / "WORKFLOW.md").read_text()
    number = _pull_request(sandbox, forge)
    pr = forge.refresh([number])[number]
    assert [c.state for c in pr.checks] == [CheckState.SUCCESS]  # its own checkout is writable
    pushed = Path(f"{said}.push").read_text()
    assert "failed to push" in pushed and pushed.splitlines()[-1] != "0"
    assert sandbox.origin_log() == main
    assert "Read-only file system" in Path(f"{said}.repo").read_text()
    assert not (sandbox.repo / "planted").exists()
    assert "Read-only file system" in Path(f"{said}.workflow").read_text()
    assert (sandbox.repo / "WORKFLOW.md").read_text() == workflow_text
    leftover = subprocess.run(["git", "status", "--porcelain"], cwd=sandbox.repo,
                              capture_output=True, text=True, check=True).stdout
    assert "planted" not in leftover


@needs_bwrap
def test_under_bubblewrap_the_check_cannot_write_the_users_agent_shell_snapshots(
        sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The operator's own Claude Code and Codex sessions source these before every shell
    command; the PR's code runs in the check before anyone approved it."""
    home = tmp_path / "home"
    for folder in (".claude/shell-snapshots", ".codex/shell_snapshots"):
        (home / folder).mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    sandbox.set_agent(sandbox="bubblewrap")
    config = sandbox.config
    command = ("echo planted > $HOME/.claude/shell-snapshots/s.sh && "
               "echo planted > $HOME/.codex/shell_snapshots/s.sh")
    forge = LocalForge(config.repo_root, "origin", [command], 60.0,
                       sandbox=CheckSandbox(config, load_workflow(config.workflow_path)))
    number = _pull_request(sandbox, forge)
    assert [c.state for c in forge.refresh([number])[number].checks] == [CheckState.SUCCESS]
    assert list((home / ".claude" / "shell-snapshots").iterdir()) == []
    assert list((home / ".codex" / "shell_snapshots").iterdir()) == []
