"""``[agent] sandbox = "bubblewrap"``: the agent's writes to the control files fail, its
commits still work; a missing bwrap is a clear error."""

from __future__ import annotations

import sysconfig
from pathlib import Path

import pytest

from maestro.containment.sandbox import bubblewrap_prefix, protected_paths
from maestro.errors import ConfigError
from maestro.forges.checktree import checks_root
from tests.conftest import Sandbox
from tests.gitrepo import sh
from tests.security.bwrap_support import needs_bwrap


def test_only_existing_control_files_are_protected_and_hooks_info_are_created(
        tmp_path: Path) -> None:
    common = tmp_path / ".git"
    common.mkdir()
    (common / "config").write_text("")
    roots = [common / "config", common / "config.worktree", common / "hooks", common / "info",
             tmp_path / "wt" / ".git"]
    assert protected_paths(roots) == [common / "config", common / "hooks", common / "info"]


def test_a_missing_bwrap_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ConfigError, match="apt-get install bubblewrap"):
        bubblewrap_prefix([])


@needs_bwrap
def test_under_bubblewrap_the_agent_commits_but_cannot_plant_a_hook(sandbox: Sandbox) -> None:
    sandbox.set_agent(sandbox="bubblewrap")
    sandbox.add_issue("BW-1", script="""
        steps:
          - run: "h=$(git rev-parse --git-common-dir)/hooks/pre-push; (echo '#!/bin/sh' > $h) 2> planted.err; git config core.fsmonitor /bin/false 2>> planted.err; true"
          - write: {path: a.txt, content: a}
          - commit: a
          - handoff: done
        """)  # noqa: E501
    sandbox.lane("BW-1")
    assert not (sandbox.repo / ".git" / "hooks" / "pre-push").exists()
    assert "fsmonitor" not in (sandbox.repo / ".git" / "config").read_text()
    refused = (sandbox.repo / ".worktrees" / "BW-1" / "planted.err").read_text()
    assert "pre-push: Read-only file system" in refused
    assert "config file" in refused and refused.count("Read-only file system") == 2
    assert sandbox.outcome("BW-1") == "waiting"
    assert sandbox.origin_file("a.txt", "maestro/bw-1") == "a"


@needs_bwrap
def test_under_bubblewrap_the_agent_cannot_reach_origin_other_lanes_maestros_code_or_processes(
        sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.set_agent(sandbox="bubblewrap")
    other = sandbox.repo / ".worktrees" / "BW-0"
    other.mkdir(parents=True)
    said = tmp_path / "said"
    purelib = sysconfig.get_paths()["purelib"]  # maestro's own environment
    main_before = sh(sandbox.repo, "rev-parse", "main")
    checks = checks_root()  # where the local forge checks other lanes' PRs meanwhile
    sandbox.add_issue("BW-2", script=f"""
        steps:
          - write: {{path: a.txt, content: a}}
          - commit: a
          - run: "git push {sandbox.origin} HEAD:refs/heads/main 2> {said}.push; echo $? >> {said}.push; (echo x > {other}/planted) 2> {said}.other; cat /proc/[0-9]*/environ | grep -c -a lin_api_secret > {said}.env; grep CapEff /proc/self/status > {said}.caps; (echo x >> {sandbox.repo}/dodo.py) 2> {said}.dodo; (touch {purelib}/zz_planted.pth) 2> {said}.pth; git update-ref refs/heads/main HEAD 2> {said}.main; (mkdir {checks}/maestro-checks-x) 2> {said}.checks; true"
          - handoff: done
        """)  # noqa: E501
    sandbox.lane("BW-2", env={"LINEAR_API_KEY": "lin_api_secret"})
    assert "Read-only file system" in Path(f"{said}.other").read_text()
    assert not (other / "planted").exists()
    pushed = Path(f"{said}.push").read_text()
    assert pushed.splitlines()[-1] != "0", pushed
    assert sandbox.origin_file("a.txt") is None  # main on origin is untouched
    assert sandbox.origin_file("a.txt", "maestro/bw-2") == "a"  # maestro's own push works
    # In a pid namespace of its own, no maestro process (nor its token) is in its /proc.
    assert Path(f"{said}.env").read_text().strip() == "0"
    # Nor what maestro itself runs later: the repository's dodo.py, its Python environment.
    assert "Read-only file system" in Path(f"{said}.dodo").read_text()
    assert "Read-only file system" in Path(f"{said}.pth").read_text()
    assert not Path(purelib, "zz_planted.pth").exists()
    # Nor the operator's own branch, in the git dir its worktree shares (git_view.py).
    assert "Read-only file system" in Path(f"{said}.main").read_text()
    assert sh(sandbox.repo, "rev-parse", "main") == main_before
    # No capability either (maestro run as root): nothing to unmount the read-only binds with.
    assert Path(f"{said}.caps").read_text().split() == ["CapEff:", "0000000000000000"]
    # Nor the local forge's checks of other lanes' PRs, made before or after it started.
    assert "Read-only file system" in Path(f"{said}.checks").read_text()
