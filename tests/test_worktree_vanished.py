"""A lane worktree removed mid-session is a person's (or the system's) act, not tampering:
the PR tool says so, the attempt ends as an ordinary retry, the session's commits stay its
own, and the next run rebuilds the worktree and goes on. A ``.git`` pointer or
administrative file the agent adds or repoints is still tampering."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from maestro.git import dirs as gitdirs
from maestro.lanes.confinement.tamper import VANISHED, ControlFiles, only_vanished
from tests.conftest import Sandbox
from tests.gitrepo import sh, small_repo

POINTER = ".worktrees/L-1/.git"
OWN = ".git/worktrees/L-1"


@pytest.mark.parametrize(("changed", "after", "vanished"), [
    # rm -rf of the worktree folder: only the pointer is gone
    ([POINTER], {}, True),
    # git worktree remove / prune: the administrative files went with it
    ([f"{OWN}/commondir", f"{OWN}/gitdir", POINTER], {}, True),
    # the pointer repointed, or a .git folder made where it was: present after
    ([POINTER], {POINTER: "-:other"}, False),
    ([POINTER, f"{POINTER}/config"], {POINTER: "dir", f"{POINTER}/config": "-:x"}, False),
    # administrative files gone while the pointer stays: not a vanished worktree
    ([f"{OWN}/commondir"], {}, False),
    # the worktree vanished and a shared control file changed too
    ([".git/hooks/pre-push", POINTER], {".git/hooks/pre-push": "x:1"}, False),
    ([".git/config", POINTER], {}, False),
])
def test_only_the_worktree_link_going_away_counts_as_vanished(
        changed: list[str], after: dict[str, str], vanished: bool) -> None:
    assert only_vanished(changed, after, POINTER, OWN) is vanished


@pytest.fixture
def lane(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """``(repo, worktree)``: a repository with one linked worktree at ``.worktrees/L-1``."""
    repo = small_repo(tmp_path, monkeypatch)
    worktree = repo / ".worktrees" / "L-1"
    sh(repo, "worktree", "add", "--quiet", "-b", "lane", str(worktree))
    gitdirs.forget()
    return repo, worktree


def test_a_removed_worktree_is_refused_as_vanished_not_as_tampering(
        lane: tuple[Path, Path]) -> None:
    repo, worktree = lane
    control = ControlFiles(worktree, repo)
    shutil.rmtree(worktree)
    worktree.mkdir()  # the agent's next write makes the folder again, without .git
    changed = control.changed()
    assert changed == [POINTER]
    assert not control.tampered
    assert control.refusal(changed) == VANISHED


def test_a_worktree_removed_with_git_is_vanished_too(lane: tuple[Path, Path]) -> None:
    repo, worktree = lane
    control = ControlFiles(worktree, repo)
    sh(repo, "worktree", "remove", "--force", str(worktree))
    assert POINTER in control.changed()
    assert not control.tampered


def test_a_pointer_planted_after_the_worktree_vanished_is_tampering(
        lane: tuple[Path, Path], tmp_path: Path) -> None:
    repo, worktree = lane
    control = ControlFiles(worktree, repo)
    shutil.rmtree(worktree)
    assert control.changed() == [POINTER] and not control.tampered
    worktree.mkdir()
    (worktree / ".git").write_text(f"gitdir: {tmp_path / 'elsewhere'}\n")
    changed = control.changed()
    assert control.tampered
    assert "control files" in control.refusal(changed) and POINTER in control.refusal(changed)


def test_a_repointed_gitdir_is_tampering(lane: tuple[Path, Path], tmp_path: Path) -> None:
    repo, worktree = lane
    control = ControlFiles(worktree, repo)
    (repo / OWN / "gitdir").write_text(f"{tmp_path / 'elsewhere' / '.git'}\n")
    assert control.changed() == [f"{OWN}/gitdir"]
    assert control.tampered


SCRIPT = """
steps:
  - write: {{path: w1.md, content: "1\\n"}}
  - commit: "w1"
  - run: "test -e {marker} || {{ touch {marker}; rm -rf \\"$PWD\\"; }}"
  - write: {{path: w2.md, content: "2\\n"}}
  - run: "git add -A && git commit -qm w2"
  - handoff: "done"
"""


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout.strip()


def run_vanishing_lane(box: Sandbox, marker: Path) -> Sandbox:
    """WV-1 after one run whose worktree was removed (once) right after its first commit;
    the removal stands in for a person's ``rm -rf .worktrees/WV-1``."""
    box.add_issue("WV-1", script=SCRIPT.format(marker=marker))
    box.main_before = git(box.repo, "rev-parse", "main")  # type: ignore[attr-defined]
    box.lane("WV-1")
    return box


@pytest.fixture(scope="module")
def vanished_once(tmp_path_factory: pytest.TempPathFactory) -> Sandbox:
    """Shared by the tests that only read what the one run left."""
    root = tmp_path_factory.mktemp("vanished")
    box = Sandbox(root / "sandbox")
    for path in (box.repo / "issues").glob("DEMO-*.md"):
        path.unlink()
    return run_vanishing_lane(box, root / "removed-once")


def test_a_worktree_removed_mid_session_ends_the_attempt_as_a_retry(
        vanished_once: Sandbox) -> None:
    box = vanished_once
    assert box.outcome("WV-1") == "retry"
    assert box.lane_file("WV-1", "attention.json") is None
    assert "maestro:needs-attention" not in box.issue("WV-1").labels
    journal = (box.repo / ".maestro" / "lanes" / "WV-1" / "journal.jsonl").read_text()
    assert "worktree_vanished" in journal and "the lane's worktree was removed" in journal


def test_the_agent_commit_in_a_vanished_worktree_never_lands_in_the_operator_repo(
        vanished_once: Sandbox) -> None:
    box = vanished_once
    assert git(box.repo, "rev-parse", "main") == box.main_before  # type: ignore[attr-defined]


def test_a_session_whose_worktree_vanished_ends_at_its_lane_branch_commit(
        vanished_once: Sandbox) -> None:
    box = vanished_once
    session = box.lane_file("WV-1", "sessions.json")["sessions"][-1]
    assert session["end_head"] == git(box.repo, "rev-parse", "maestro/wv-1")
    assert git(box.repo, "log", "-1", "--format=%s", session["end_head"]) == "w1"


def test_the_next_run_rebuilds_the_worktree_and_hands_off_with_the_earlier_commit(
        sandbox: Sandbox, tmp_path: Path) -> None:
    box = run_vanishing_lane(sandbox, tmp_path / "removed-once")
    box.lane("WV-1")
    assert box.issue("WV-1").state == "In Review"
    assert box.origin_file("w1.md", "maestro/wv-1") == "1\n"
    assert box.origin_file("w2.md", "maestro/wv-1") == "2\n"
