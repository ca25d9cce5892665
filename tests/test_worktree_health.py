"""The lane worktree is verified whole before use and healed when it is not.

The decision is a table over :class:`WorktreeFacts`; the healing runs on real git."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from maestro.errors import WorkspaceError
from maestro.lanes.worktree import worktree_health
from maestro.lanes.worktree.workspace import remove_worktree
from maestro.lanes.worktree.worktree_health import (
    WorktreeFacts,
    choose_start,
    diagnose,
    heal,
    inspect,
    linked_here,
    worktree_entries,
)

BRANCH = "maestro/x-1"
WHOLE = WorktreeFacts(exists=True, ours=True, registered=True, branch=BRANCH, head_ok=True,
                      index_present=True, head_has_files=True, branch_exists=True,
                      linked=True)


@pytest.mark.parametrize(("change", "action"), [
    ({}, "whole"),
    ({"exists": False, "registered": False}, "create"),
    ({"exists": False}, "recreate"),
    ({"registered": False, "empty": True}, "create"),
    ({"registered": False}, "recreate"),
    ({"registered": False, "ours": False}, "refuse"),
    ({"registered": False, "ours": False, "made_here": True}, "recreate"),
    ({"linked": False}, "recreate"),  # a repository of its own, or another worktree's
    ({"linked": False, "locked": "a person keeps this"}, "recreate"),
    ({"locked": "initializing"}, "recreate"),
    ({"locked": "initializing\n"}, "recreate"),
    ({"locked": "a person keeps this"}, "whole"),
    ({"prunable": True}, "recreate"),
    ({"branch": "main"}, "refuse"),
    ({"branch": None}, "refuse"),
    ({"branch_exists": False}, "restore_branch"),
    ({"head_ok": False}, "recreate"),
    ({"index_present": False}, "recreate"),
    ({"index_present": False, "head_has_files": False}, "whole"),
    ({"missing": ("README.md",)}, "restore_files"),
    ({"registered": False, "elsewhere": "/old/place", "elsewhere_stale": True},
     "unregister_elsewhere"),
    ({"registered": False, "exists": False, "elsewhere": "/old/place"}, "refuse"),
    ({"exists": False, "registered": False, "not_a_folder": True}, "refuse"),
], ids=lambda v: str(v) if isinstance(v, str) else ",".join(map(str, v)) or "whole")
def test_diagnose_names_one_step_towards_a_whole_worktree(change: dict[str, object],
                                                          action: str) -> None:
    assert diagnose(dataclasses.replace(WHOLE, **change), BRANCH).action == action  # type: ignore[arg-type]


LINE = {("a", "b"), ("a", "c"), ("b", "c")}  # a → b → c on one line; d diverged from a


@pytest.mark.parametrize(("candidates", "expected"), [
    ([], None),
    ([("recorded", "b"), ("remote", "c")], ("remote", "c")),
    ([("recorded", "c"), ("remote", "b")], ("recorded", "c")),
    ([("recorded", "c"), ("remote", "c")], ("recorded", "c")),
    ([("recorded", "c"), ("remote", "d")], ("recorded", "c")),
    ([("remote", "a"), ("pr", "b"), ("recorded", "c")], ("recorded", "c")),
])
def test_choose_start_takes_the_newest_or_our_own_record(
        candidates: list[tuple[str, str]], expected: tuple[str, str] | None) -> None:
    assert choose_start(candidates, lambda a, b: (a, b) in LINE) == expected


# -- on real git ------------------------------------------------------------------------------


def run(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    run(root, "init", "-q", "-b", "main")
    (root / "README.md").write_text("readme\n")
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text("print('hi')\n")
    run(root, "add", "-A")
    run(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    return root


def from_main(repo: Path) -> tuple[str, str]:
    return "main", run(repo, "rev-parse", "main")


def files(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*")
                  if p.is_file() and ".git" not in p.parts)


def test_a_worktree_left_by_a_killed_add_is_recreated_with_every_file(repo: Path) -> None:
    path = repo.parent / "wt"
    run(repo, "worktree", "add", "-q", "--no-checkout", "-b", BRANCH, str(path), "main")
    (repo / ".git" / "worktrees" / "wt" / "locked").write_text("initializing\n")
    done = heal(repo, path, BRANCH, lambda: from_main(repo))
    assert any("locked: initializing" in step for step in done)
    assert files(path) == ["README.md", "src/app.py"]
    entry = next(e for e in worktree_entries(repo) if Path(e["worktree"]) == path.resolve())
    assert "locked" not in entry


def test_a_deleted_worktree_is_recreated_on_the_lane_branch_with_its_commits(
        repo: Path) -> None:
    path = repo.parent / "wt"
    heal(repo, path, BRANCH, lambda: from_main(repo))
    (path / "feature.txt").write_text("feature\n")
    run(path, "add", "-A")
    run(path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "feature")
    subprocess.run(["rm", "-rf", str(path)], check=True)
    heal(repo, path, BRANCH, lambda: from_main(repo))
    assert (path / "feature.txt").read_text() == "feature\n"
    assert run(path, "rev-parse", "--abbrev-ref", "HEAD") == BRANCH


def test_missing_files_come_back_and_other_uncommitted_edits_stay(repo: Path) -> None:
    path = repo.parent / "wt"
    heal(repo, path, BRANCH, lambda: from_main(repo))
    (path / "README.md").unlink()
    (path / "src" / "app.py").write_text("edited\n")
    heal(repo, path, BRANCH, lambda: from_main(repo))
    assert (path / "README.md").read_text() == "readme\n"
    assert (path / "src" / "app.py").read_text() == "edited\n"


def test_a_lost_local_branch_is_restored_from_the_named_start(repo: Path) -> None:
    path = repo.parent / "wt"
    heal(repo, path, BRANCH, lambda: from_main(repo))
    (path / "feature.txt").write_text("feature\n")
    run(path, "add", "-A")
    run(path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "feature")
    head = run(path, "rev-parse", "HEAD")
    run(repo, "update-ref", "-d", f"refs/heads/{BRANCH}")
    assert not inspect(repo, path, BRANCH).branch_exists
    done = heal(repo, path, BRANCH, lambda: ("recorded", head))
    assert run(repo, "rev-parse", BRANCH) == head
    assert any("restored branch" in step for step in done)


def uncommitted_work(repo: Path) -> Path:
    """A lane worktree holding an edit and a new file nobody committed."""
    path = repo.parent / "wt"
    heal(repo, path, BRANCH, lambda: from_main(repo))
    (path / "src" / "app.py").write_text("the agent's edit\n")
    (path / "notes.md").write_text("not committed\n")
    return path


@pytest.mark.parametrize("breakage", ["git forgot the worktree", "its index is gone"])
def test_a_broken_worktree_is_set_aside_whole_before_it_is_added_again(
        repo: Path, breakage: str) -> None:
    path = uncommitted_work(repo)
    if breakage == "git forgot the worktree":
        shutil.rmtree(repo / ".git" / "worktrees" / "wt")
    else:
        (repo / ".git" / "worktrees" / "wt" / "index").unlink()

    done = heal(repo, path, BRANCH, lambda: from_main(repo))

    kept = set_aside_folders(repo)
    assert len(kept) == 1 and any(str(kept[0]) in step for step in done)
    assert (kept[0] / "notes.md").read_text() == "not committed\n"
    assert (kept[0] / "src" / "app.py").read_text() == "the agent's edit\n"
    assert not (kept[0] / ".git").exists()  # git there must not act on the new worktree
    assert files(path) == ["README.md", "src/app.py"]
    assert (path / "src" / "app.py").read_text() == "print('hi')\n"


def dead_add(repo: Path) -> Path:
    """A worktree a kill left inside ``git worktree add --no-checkout``."""
    path = repo.parent / "wt"
    run(repo, "worktree", "add", "-q", "--no-checkout", "-b", BRANCH, str(path), "main")
    (repo / ".git" / "worktrees" / "wt" / "locked").write_text("initializing\n")
    return path


def set_aside_folders(repo: Path) -> list[Path]:
    return [p for p in repo.parent.iterdir() if ".set-aside-" in p.name]


def test_a_dead_add_holding_only_its_git_file_leaves_nothing_aside(repo: Path) -> None:
    heal(repo, dead_add(repo), BRANCH, lambda: from_main(repo))
    assert set_aside_folders(repo) == []


def test_a_dead_add_holding_files_is_set_aside_too(repo: Path) -> None:
    """Its lock file is one the agent can write (breaker 26 L6)."""
    path = dead_add(repo)
    (path / "notes.md").write_text("not committed\n")
    heal(repo, path, BRANCH, lambda: from_main(repo))
    assert [(p / "notes.md").read_text() for p in set_aside_folders(repo)] == [
        "not committed\n"]


def test_the_folder_set_aside_is_named_before_it_moves(repo: Path) -> None:
    """A kill right after the move must not leave kept files nobody was told of."""
    path = uncommitted_work(repo)
    shutil.rmtree(repo / ".git" / "worktrees" / "wt")
    heard: list[tuple[str, bool]] = []
    heal(repo, path, BRANCH, lambda: from_main(repo),
         report=lambda step: heard.append((step, (path / "notes.md").exists())))
    named = [(step, before) for step, before in heard if "set aside" in step]
    assert len(named) == 1 and named[0][1]  # told while the files were still in place
    assert str(set_aside_folders(repo)[0]) in named[0][0]


def test_a_folder_cut_between_the_two_renames_is_set_aside_by_the_next_heal(
        repo: Path) -> None:
    """The kept folder's .git goes first: a kill before the folder moved leaves a folder
    git cannot use (never a kept folder whose .git acts on the new worktree)."""
    path = uncommitted_work(repo)
    shutil.rmtree(repo / ".git" / "worktrees" / "wt")
    (path / ".git").rename(path / ".git.set-aside")  # the first rename, then a kill
    heal(repo, path, BRANCH, lambda: from_main(repo))
    kept = set_aside_folders(repo)
    assert [(p / "notes.md").read_text() for p in kept] == ["not committed\n"]
    assert not (kept[0] / ".git").exists()
    assert run(path, "rev-parse", "--abbrev-ref", "HEAD") == BRANCH


def test_a_folder_that_is_not_a_worktree_is_never_deleted(repo: Path) -> None:
    path = repo.parent / "wt"
    path.mkdir()
    (path / "notes.txt").write_text("a person's notes\n")
    with pytest.raises(WorkspaceError, match="not a worktree of this repository"):
        heal(repo, path, BRANCH, lambda: from_main(repo))
    assert (path / "notes.txt").exists()


def test_a_lane_worktree_without_its_git_file_or_registration_is_set_aside_and_added_again(
        repo: Path) -> None:
    """Carried N3: the agent removed its ``.git`` and a prune dropped the registration;
    the lane's record says maestro made the folder, so it is kept aside, not refused."""
    path = uncommitted_work(repo)
    (path / ".git").unlink()
    run(repo, "worktree", "prune")
    with pytest.raises(WorkspaceError, match="not a worktree of this repository"):
        heal(repo, path, BRANCH, lambda: from_main(repo))  # no record: never touched
    heal(repo, path, BRANCH, lambda: from_main(repo), made_here=True)
    (kept,) = set_aside_folders(repo)
    assert (kept / "notes.md").read_text() == "not committed\n"
    assert run(path, "rev-parse", "--abbrev-ref", "HEAD") == BRANCH
    assert files(path) == ["README.md", "src/app.py"]


def test_a_lane_folder_holding_only_a_repository_of_its_own_is_kept_whole(
        repo: Path) -> None:
    path = uncommitted_work(repo)
    shutil.rmtree(path)
    path.mkdir()
    run(path, "init", "-q")  # the agent's own repository, maybe with history
    run(repo, "worktree", "prune")
    heal(repo, path, BRANCH, lambda: from_main(repo), made_here=True)
    (kept,) = set_aside_folders(repo)
    assert (kept / ".git.set-aside" / "HEAD").is_file()


def test_a_registered_worktree_that_became_a_repository_of_its_own_is_set_aside(
        repo: Path) -> None:
    """Breaker 31 F1: ``rm .git; git init`` kept git's registration (its gitdir still
    names an existing ``.git``), the worktree was judged whole and the next lane's agent
    committed into the nested repository."""
    path = uncommitted_work(repo)
    (path / ".git").unlink()
    run(path, "init", "-q")
    run(path, "commit", "-q", "--allow-empty", "-m", "the agent's own history")
    heal(repo, path, BRANCH, lambda: from_main(repo))
    (kept,) = set_aside_folders(repo)
    assert run(kept / ".git.set-aside", "log", "--format=%s") == "the agent's own history"
    assert (kept / "notes.md").read_text() == "not committed\n"
    assert run(path, "rev-parse", "--abbrev-ref", "HEAD") == BRANCH


def test_a_worktree_pointed_at_another_worktrees_registration_is_set_aside_and_its_locks_kept(
        repo: Path) -> None:
    """Breaker 31 F3: the heal took the other worktree's index.lock for its own."""
    path = uncommitted_work(repo)
    other = repo.parent / "other"
    run(repo, "worktree", "add", "-q", "-b", "other", str(other), "main")
    other_lock = repo / ".git" / "worktrees" / "other" / "index.lock"
    other_lock.write_text("")  # a live session's
    (path / ".git").write_text(f"gitdir: {repo / '.git' / 'worktrees' / 'other'}\n")
    heal(repo, path, BRANCH, lambda: from_main(repo))
    assert other_lock.exists()
    assert len(set_aside_folders(repo)) == 1
    assert run(path, "rev-parse", "--abbrev-ref", "HEAD") == BRANCH
    assert run(other, "rev-parse", "--abbrev-ref", "HEAD") == "other"


def test_a_worktree_linked_by_relative_paths_is_linked_here(repo: Path) -> None:
    """git 2.48's ``worktree.useRelativePaths`` writes both pointers relative (git 2.39,
    here, cannot list such a worktree, so only the link itself is checked)."""
    path = uncommitted_work(repo)
    admin = repo / ".git" / "worktrees" / "wt"
    (path / ".git").write_text(f"gitdir: {os.path.relpath(admin, path)}\n")
    (admin / "gitdir").write_text(f"{os.path.relpath(path / '.git', admin)}\n")
    assert linked_here(path, repo) == path / os.path.relpath(admin, path)


def test_a_link_where_the_worktree_goes_is_refused_and_the_linked_worktree_untouched(
        repo: Path) -> None:
    path = uncommitted_work(repo)
    other = repo.parent / "other"
    run(repo, "worktree", "add", "-q", "-b", "other", str(other), "main")
    shutil.move(str(path), str(repo.parent / "moved"))
    path.symlink_to(other)
    (repo / ".git" / "worktrees" / "other" / "index.lock").write_text("")
    with pytest.raises(WorkspaceError, match="not a folder"):
        heal(repo, path, BRANCH, lambda: from_main(repo))
    assert (repo / ".git" / "worktrees" / "other" / "index.lock").exists()
    assert path.is_symlink() and other.is_dir()


def test_a_file_where_the_worktree_goes_is_refused_and_kept(repo: Path) -> None:
    path = repo.parent / "wt"
    path.write_text("a person's file\n")
    with pytest.raises(WorkspaceError, match="not a folder is where the worktree goes"):
        heal(repo, path, BRANCH, lambda: from_main(repo))
    assert path.read_text() == "a person's file\n"


def test_cleanup_prunes_a_dead_add_and_a_half_removed_folder(repo: Path) -> None:
    path = repo.parent / "wt"
    run(repo, "worktree", "add", "-q", "--no-checkout", "-b", BRANCH, str(path), "main")
    (repo / ".git" / "worktrees" / "wt" / "locked").write_text("initializing\n")
    subprocess.run(["rm", "-rf", str(path)], check=True)  # a remove killed half way
    remove_worktree(repo, path, BRANCH)
    assert [Path(e["worktree"]) for e in worktree_entries(repo)] == [repo.resolve()]
    assert run(repo, "branch", "--list", BRANCH) == ""
    remove_worktree(repo, path, BRANCH)  # idempotent: nothing left, nothing fails


def test_cleanup_removes_the_branch_lock_a_killed_branch_delete_left(repo: Path) -> None:
    """A kill during cleanup's own `git branch -D` left the ref lock; every later cleanup
    failed on it until the lane needed a person (found by the chaos test)."""
    path = repo.parent / "wt"
    run(repo, "worktree", "add", "-q", "-b", BRANCH, str(path), "main")
    (repo / ".git" / "refs" / "heads" / f"{BRANCH}.lock").write_text("")
    remove_worktree(repo, path, BRANCH)
    assert run(repo, "branch", "--list", BRANCH) == ""
    assert not (repo / ".git" / "refs" / "heads" / f"{BRANCH}.lock").exists()


def _worktree_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the ``git worktree`` subcommand of each check-free git call (and still run it)."""
    import maestro.lanes.worktree.worktree_health as health

    seen: list[str] = []
    real = health.git_ok

    def recording(cwd: Path, *args: str) -> bool:
        if args[:1] == ("worktree",):
            seen.append(args[1])
        return real(cwd, *args)

    monkeypatch.setattr(health, "git_ok", recording)
    return seen


def test_cleanup_of_the_only_worktree_neither_unlocks_nor_prunes(
        repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = repo.parent / "wt"
    run(repo, "worktree", "add", "-q", "-b", BRANCH, str(path), "main")
    run(repo, "worktree", "lock", str(path))
    calls = _worktree_calls(monkeypatch)
    remove_worktree(repo, path, BRANCH)
    assert calls == ["remove"]
    assert [Path(e["worktree"]) for e in worktree_entries(repo)] == [repo.resolve()]
    assert not path.exists()
    assert run(repo, "branch", "--list", BRANCH) == ""


def test_cleanup_still_prunes_the_stale_registration_of_another_worktree(
        repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gone = repo.parent / "gone"
    run(repo, "worktree", "add", "-q", "-b", "other", str(gone), "main")
    subprocess.run(["rm", "-rf", str(gone)], check=True)
    path = repo.parent / "wt"
    run(repo, "worktree", "add", "-q", "-b", BRANCH, str(path), "main")
    calls = _worktree_calls(monkeypatch)
    remove_worktree(repo, path, BRANCH)
    assert calls == ["remove", "prune"]
    assert [Path(e["worktree"]) for e in worktree_entries(repo)] == [repo.resolve()]


def test_a_locked_worktree_git_refuses_to_remove_is_unlocked_deleted_and_pruned(
        repo: Path) -> None:
    path = repo.parent / "wt"
    run(repo, "worktree", "add", "-q", "-b", BRANCH, str(path), "main")
    run(repo, "worktree", "lock", str(path))
    (path / ".git").unlink()  # git's remove validates the folder's .git and refuses
    remove_worktree(repo, path, BRANCH)
    assert [Path(e["worktree"]) for e in worktree_entries(repo)] == [repo.resolve()]
    assert not path.exists()
    assert run(repo, "branch", "--list", BRANCH) == ""


def test_cleanup_of_a_branch_git_cannot_delete_says_why(repo: Path) -> None:
    run(repo, "checkout", "-q", "-b", BRANCH)  # the operator's own checkout holds it
    with pytest.raises(WorkspaceError, match="branch -D"):
        remove_worktree(repo, repo.parent / "wt", BRANCH)


def test_a_stale_index_lock_left_by_a_killed_git_is_removed_before_a_session(
        repo: Path) -> None:
    """A kill -9 inside the agent's `git add` left index.lock; every later commit failed."""
    path = repo.parent / "wt"
    run(repo, "worktree", "add", "-q", "-b", BRANCH, str(path), "main")
    gitdir = Path(run(path, "rev-parse", "--absolute-git-dir"))
    (gitdir / "index.lock").write_text("")
    done = heal(repo, path, BRANCH, lambda: from_main(repo))
    assert not (gitdir / "index.lock").exists()
    assert any("index.lock" in step for step in done)
    (path / "new.txt").write_text("x\n")
    run(path, "add", "-A")


def _prunes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ...]]:
    """Record each ``git worktree prune`` maestro runs (and still run it)."""
    import maestro.lanes.worktree.worktree_health as health

    seen: list[tuple[str, ...]] = []
    real = health.git_ok

    def recording(cwd: Path, *args: str) -> bool:
        if args[:2] == ("worktree", "prune"):
            seen.append(args)
        return real(cwd, *args)

    monkeypatch.setattr(health, "git_ok", recording)
    return seen


def test_a_new_worktree_is_added_without_a_prune_when_none_would_change_the_add(
        repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    prunes = _prunes(monkeypatch)
    path = repo.parent / "wt"
    assert inspect(repo, path, BRANCH).prune_matters is False
    heal(repo, path, BRANCH, lambda: from_main(repo))
    assert prunes == []
    assert files(path) == ["README.md", "src/app.py"]


def test_a_stale_registration_of_another_worktree_is_still_pruned_before_the_add(
        repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gone = repo.parent / "gone"
    run(repo, "worktree", "add", "-q", "-b", "other", str(gone), "main")
    subprocess.run(["rm", "-rf", str(gone)], check=True)
    prunes = _prunes(monkeypatch)
    heal(repo, repo.parent / "wt", BRANCH, lambda: from_main(repo))
    assert prunes == [("worktree", "prune")]
    assert [Path(e["worktree"]).name for e in worktree_entries(repo)] == ["repo", "wt"]


def test_an_unreadable_administrative_folder_of_the_same_name_is_pruned_and_its_name_reused(
        repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (repo / ".git" / "worktrees" / "wt").mkdir(parents=True)  # a dead add's first step
    prunes = _prunes(monkeypatch)
    path = repo.parent / "wt"
    heal(repo, path, BRANCH, lambda: from_main(repo))
    assert prunes == [("worktree", "prune")]
    assert (path / ".git").read_text().strip().endswith("/.git/worktrees/wt")


def test_a_lane_branch_the_caller_just_read_is_not_read_again_by_the_first_inspection(
        repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import maestro.lanes.worktree.worktree_health as health

    asked: list[str] = []
    real = health.rev_parse

    def recording(cwd: Path, name: str) -> str | None:
        asked.append(name)
        return real(cwd, name)

    monkeypatch.setattr(health, "rev_parse", recording)
    path = repo.parent / "wt"
    heal(repo, path, BRANCH, lambda: from_main(repo), branch_exists=False)
    assert f"refs/heads/{BRANCH}" not in asked
    assert files(path) == ["README.md", "src/app.py"]
    assert run(repo, "rev-parse", BRANCH) == run(repo, "rev-parse", "main")


def test_a_new_worktree_is_whole_once_added_with_no_second_look(
        repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    looks = []
    real_inspect = worktree_health.inspect

    def counted(*args: object, **kwargs: object) -> object:
        looks.append(args)
        return real_inspect(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(worktree_health, "inspect", counted)
    path = repo.parent / "wt"
    heal(repo, path, BRANCH, lambda: from_main(repo))
    assert len(looks) == 1
    assert files(path) == ["README.md", "src/app.py"]
    assert run(path, "rev-parse", "--abbrev-ref", "HEAD") == BRANCH
