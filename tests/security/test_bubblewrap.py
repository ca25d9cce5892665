"""``[agent] sandbox = "bubblewrap"``: the agent's writes to the control files fail, its
commits still work; a missing bwrap is a clear error."""

from __future__ import annotations

import os
import shutil
import subprocess
import sysconfig
import tempfile
from pathlib import Path

import pytest

from maestro.containment.agent_homes import lane_state_folder
from maestro.containment.private_tmp import LANE_STATE, TOOL_RELAYS, private_folder
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
def test_under_bubblewrap_the_agent_cannot_plant_a_hook_every_later_agent_would_run(
        sandbox: Sandbox, tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".claude" / "plugins").mkdir(parents=True)
    said = tmp_path / "said"
    other = private_folder(LANE_STATE) / "BW-OTHER" / "shell-snapshots"  # another lane's
    other.mkdir(parents=True, exist_ok=True)
    own = lane_state_folder(sandbox.repo / ".maestro" / "lanes" / "BW-4", "BW-4")
    sandbox.set_agent(sandbox="bubblewrap")
    sandbox.add_issue("BW-4", script=f"""
        steps:
          - run: "(echo planted > $HOME/.claude/settings.json) 2> {said}.claude; (echo planted > $HOME/.codex/config.toml) 2> {said}.codex; (touch $HOME/.claude/plugins/planted) 2> {said}.plugin; (echo BASH_ENV=/tmp/x > $HOME/.codex/.env) 2> {said}.env; (echo obey > $HOME/.claude/CLAUDE.md) 2> {said}.memory; (printf '[core]\\n\\tfsmonitor = /tmp/x\\n' > $HOME/.gitconfig) 2> {said}.git; (echo x > $HOME/.config/git/config) 2> {said}.xdg; echo own > $HOME/.claude/shell-snapshots/snap.sh; (echo x > {other}/snap.sh) 2> {said}.snap; (mv $HOME/.claude $HOME/.claude-moved) 2> {said}.moved; echo session > $HOME/.claude/history.jsonl; true"
          - write: {{path: a.txt, content: a}}
          - commit: a
          - handoff: done
        """)  # noqa: E501
    sandbox.lane("BW-4", env={"HOME": str(home)})
    # The hooks files were made before the agent ran (empty), and stay as they were.
    assert (home / ".claude" / "settings.json").read_text() == "{}\n"
    assert (home / ".codex" / "config.toml").read_text() == ""
    assert (home / ".codex" / ".env").read_text() == ""  # codex loads it into its env
    assert (home / ".gitconfig").read_text() == ""  # every later agent's git reads it
    # Claude Code's shell snapshots (sourced before every Bash command) are the lane's own
    assert (own / "claude" / "shell-snapshots" / "snap.sh").exists()
    assert not (home / ".claude" / "shell-snapshots" / "snap.sh").exists()
    assert not (other / "snap.sh").exists()
    for name in ("claude", "codex", "plugin", "env", "memory", "git", "xdg", "snap"):
        assert "Read-only file system" in Path(f"{said}.{name}").read_text(), name
    assert not (home / ".claude" / "plugins" / "planted").exists()
    # Nor can the home be swapped for one of the agent's: it is a mount point.
    assert "busy" in Path(f"{said}.moved").read_text().lower()
    assert not (home / ".claude-moved").exists()
    # The rest of the home stays the agent's (sessions, caches).
    assert (home / ".claude" / "history.jsonl").read_text() == "session\n"
    assert sandbox.outcome("BW-4") == "waiting"


@needs_bwrap
def test_a_home_whose_agent_config_is_a_link_to_dotfiles_still_runs_sandboxed(
        sandbox: Sandbox, tmp_path: Path) -> None:
    """bwrap binds real paths: ``~/.claude`` and ``~/.gitconfig`` linked into a dotfiles
    checkout are bound at their targets, read-only."""
    home, dotfiles = tmp_path / "home", tmp_path / "dotfiles"
    (dotfiles / "claude").mkdir(parents=True)
    (dotfiles / "gitconfig").write_text("")
    home.mkdir()
    (home / ".claude").symlink_to(dotfiles / "claude")
    (home / ".gitconfig").symlink_to(dotfiles / "gitconfig")
    sandbox.set_agent(sandbox="bubblewrap")
    sandbox.add_issue("BW-5", script=f"""
        steps:
          - run: "(echo x > $HOME/.claude/settings.json) 2> {tmp_path}/said; true"
          - write: {{path: a.txt, content: a}}
          - commit: a
          - handoff: done
        """)
    sandbox.lane("BW-5", env={"HOME": str(home)})
    assert sandbox.outcome("BW-5") == "waiting"
    assert "Read-only file system" in (tmp_path / "said").read_text()
    assert (dotfiles / "claude" / "settings.json").read_text() == "{}\n"


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
    # another lane's issue tools
    relay = Path(tempfile.mkdtemp(prefix="relay-other-", dir=private_folder(TOOL_RELAYS)))
    sandbox.add_issue("BW-2", script=f"""
        steps:
          - write: {{path: a.txt, content: a}}
          - commit: a
          - run: "git push {sandbox.origin} HEAD:refs/heads/main 2> {said}.push; echo $? >> {said}.push; (echo x > {other}/planted) 2> {said}.other; cat /proc/[0-9]*/environ | grep -c -a lin_api_secret > {said}.env; grep CapEff /proc/self/status > {said}.caps; (echo x >> {sandbox.repo}/dodo.py) 2> {said}.dodo; (touch {purelib}/zz_planted.pth) 2> {said}.pth; git update-ref refs/heads/main HEAD 2> {said}.main; (mkdir {checks}/maestro-checks-x) 2> {said}.checks; (echo x > {relay}/mcp.json) 2> {said}.relay; (touch /usr/local/bin/zz-planted) 2> {said}.usr; true"
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
    # Nor another lane's issue-tool relay (its socket, what starts its tool server).
    assert "Read-only file system" in Path(f"{said}.relay").read_text()
    assert not (relay / "mcp.json").exists()
    shutil.rmtree(relay)
    # Nor, even as root (capabilities dropped, root still owns /usr), a program maestro's
    # own processes would run later: the root is read-only but for home and scratch.
    assert not Path("/usr/local/bin/zz-planted").exists()
    if os.geteuid() == 0:
        assert "Read-only file system" in Path(f"{said}.usr").read_text()


#: ``p NAME``: the loose object file of NAME in the sandbox's ``objects/`` (its private store).
LOOSE = ("o=$(git rev-parse --path-format=absolute --git-common-dir)/objects; "
         "p() { echo $o/$(echo $1 | cut -c1-2)/$(echo $1 | cut -c3-); }; ")


@needs_bwrap
def test_an_agent_that_swaps_an_object_stops_for_a_person_and_no_one_else_reads_it(
        sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.set_agent(sandbox="bubblewrap")
    readme = sh(sandbox.repo, "show", "main:README.md")
    # Its own new blob, and (in its view) the blob of main's README, given other content.
    swap = (LOOSE + "e=$(echo evil | git hash-object -w --stdin); "
            "for b in $(git rev-parse HEAD:c.txt main:README.md); do mkdir -p $(dirname $(p $b)); "
            "chmod u+w $(p $b) 2>/dev/null; cp $(p $e) $(p $b); done; git rev-parse HEAD:c.txt")
    sandbox.add_issue("BW-3", script=f"""
        steps:
          - write: {{path: c.txt, content: good}}
          - commit: c
          - run: "{swap} > {tmp_path}/swapped"
          - handoff: done
        """)
    sandbox.lane("BW-3")
    assert sandbox.outcome("BW-3") == "needs_human"
    attention = sandbox.lane_file("BW-3", "attention.json")
    assert attention["error_class"] == "objects_refused"
    assert "not among the objects" in attention["reason"] or "refused" in attention["reason"]
    swapped = (tmp_path / "swapped").read_text().strip()
    claimed = subprocess.run(["git", "cat-file", "-e", swapped], cwd=sandbox.repo, check=False)
    assert claimed.returncode != 0  # the swapped blob never entered under its name
    assert sandbox.origin_file("c.txt", "maestro/bw-3") is None  # nothing was pushed
    # Another lane's worktree, the operator's checkout: main's README as it was.
    sh(sandbox.repo, "worktree", "add", "-q", "--detach", str(sandbox.root / "other"), "main")
    assert (sandbox.root / "other" / "README.md").read_text().strip() == readme


@needs_bwrap
def test_a_sandboxed_lane_killed_before_its_objects_were_imported_delivers_them_on_resume(
        sandbox: Sandbox) -> None:
    sandbox.set_agent(sandbox="bubblewrap")
    sandbox.add_issue("BW-4", script="""
        steps:
          - write: {path: a.txt, content: a}
          - commit: a
          - handoff: done
          - write: {path: b.txt, content: b}
          - commit: b
        """)
    sandbox.lane("BW-4", env={"MAESTRO_FAULT_KILL": "agent:session-ended"})
    store = sandbox.repo / ".git" / "worktrees" / "BW-4" / "maestro-objects"
    assert any(p.name != "info" for p in store.iterdir())  # b, only in the private store
    sandbox.lane("BW-4")
    assert sandbox.origin_file("b.txt", "maestro/bw-4") == "b"
    assert sandbox.outcome("BW-4") == "waiting"


@needs_bwrap
def test_under_bubblewrap_codex_shell_snapshots_are_the_lanes_own(
        sandbox: Sandbox, tmp_path: Path) -> None:
    """Codex sources ``$CODEX_HOME/shell_snapshots/*`` before each shell command of every
    running session, as Claude Code does its own: one lane's agent must not write there."""
    home = tmp_path / "home"
    (home / ".codex" / "shell_snapshots").mkdir(parents=True)
    sandbox.set_agent(sandbox="bubblewrap")
    sandbox.add_issue("BW-9", script="""
        steps:
          - run: "echo planted > $HOME/.codex/shell_snapshots/snap.sh"
          - write: {path: a.txt, content: a}
          - commit: a
          - handoff: done
        """)
    sandbox.lane("BW-9", env={"HOME": str(home)})
    own = lane_state_folder(sandbox.repo / ".maestro" / "lanes" / "BW-9", "BW-9")
    assert (own / "codex" / "shell_snapshots" / "snap.sh").read_text() == "planted\n"
    assert not (home / ".codex" / "shell_snapshots" / "snap.sh").exists()
    assert sandbox.outcome("BW-9") == "waiting"
