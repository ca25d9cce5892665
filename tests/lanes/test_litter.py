"""Validation sees the commit's files (the agent's untracked ones are moved aside meanwhile),
and its own output never stays in the worktree for a later `git add -A`."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from maestro.lanes.validation.litter import aside_of, commit_only, sweep


def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "wt"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "hello.py").write_text("print('hi')\n")
    (repo / ".gitignore").write_text("*.log\n")
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid",
                    "commit", "-qm", "init"], cwd=repo, check=True)
    return repo


def test_files_a_validation_run_creates_are_removed(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    with commit_only(repo, tmp_path / "litter.json"):
        # like the __pycache__ the chaos series found merged on main
        subprocess.run("mkdir -p __pycache__/deep && echo x > __pycache__/deep/hello.pyc",
                       shell=True, cwd=repo, check=True)
    assert not (repo / "__pycache__").exists()
    assert (repo / "hello.py").exists()


def test_the_agents_untracked_files_are_out_of_sight_while_the_commands_run(
        tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    (repo / "draft.py").write_text("x = 1\n")
    (repo / "run.log").write_text("ignored by the repository\n")
    with commit_only(repo, tmp_path / "litter.json") as seen:
        assert not (repo / "draft.py").exists() and seen == frozenset()
        assert (repo / "run.log").exists()  # ignored files stay: dependencies live there
    assert (repo / "draft.py").read_text() == "x = 1\n"
    assert not aside_of(repo).exists()


def test_a_file_the_commands_make_in_a_set_aside_files_place_is_theirs_and_removed(
        tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    (repo / "draft.py").write_text("x = 1\n")
    with commit_only(repo, tmp_path / "litter.json"):
        (repo / "draft.py").write_text("x = 2\n")
    assert (repo / "draft.py").read_text() == "x = 1\n"


def test_tracked_files_changed_by_validation_are_left_for_the_agent(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    with commit_only(repo, tmp_path / "litter.json"):
        (repo / "hello.py").write_text("print('changed')\n")
    assert (repo / "hello.py").read_text() == "print('changed')\n"


def test_a_validation_killed_before_its_clean_up_is_swept_by_the_next_session(
        tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    record = tmp_path / "litter.json"
    record.write_text(json.dumps({"before": ["docs/draft.md"]}))  # what the killed run wrote
    (aside_of(repo) / "docs").mkdir(parents=True)
    (aside_of(repo) / "docs" / "draft.md").write_text("mine\n")  # the agent's, set aside
    (repo / "__pycache__").mkdir()
    (repo / "__pycache__" / "hello.pyc").write_text("x")  # what it left behind
    assert sweep(repo, record) == ["__pycache__/"]
    assert not (repo / "__pycache__").exists()
    assert (repo / "docs" / "draft.md").read_text() == "mine\n"
    assert not record.exists() and not (aside_of(repo)).exists()


def test_a_set_aside_file_whose_place_was_taken_stays_set_aside(
        tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    record = tmp_path / "litter.json"
    record.write_text(json.dumps({"before": ["draft.py"]}))
    aside_of(repo).mkdir(parents=True)
    (aside_of(repo) / "draft.py").write_text("set aside\n")
    (repo / "draft.py").write_text("made since\n")
    sweep(repo, record)
    assert (repo / "draft.py").read_text() == "made since\n"
    assert (aside_of(repo) / "draft.py").read_text() == "set aside\n"  # nothing is lost


def test_no_record_means_nothing_is_swept(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    (repo / "draft.py").write_text("x = 1\n")
    assert sweep(repo, tmp_path / "litter.json") == []
    assert (repo / "draft.py").exists()


def test_set_aside_files_come_back_even_when_their_record_went_with_a_reset_lane(
        tmp_path: Path) -> None:
    """``maestro lane --reset`` archives the lane folder, record included (breaker 13)."""
    repo = _repo(tmp_path)
    (aside_of(repo) / "docs").mkdir(parents=True)
    (aside_of(repo) / "docs" / "draft.md").write_text("mine\n")
    (aside_of(repo) / "empty").mkdir()
    assert sweep(repo, tmp_path / "litter.json") == []
    assert (repo / "docs" / "draft.md").read_text() == "mine\n"
    assert (repo / "empty").is_dir() and not aside_of(repo).exists()


def test_a_set_aside_folder_swapped_for_a_link_is_not_followed(tmp_path: Path) -> None:
    repo, outside = _repo(tmp_path), tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("keep\n")
    aside_of(repo).parent.mkdir(parents=True)
    aside_of(repo).symlink_to(outside)
    record = tmp_path / "litter.json"
    record.write_text(json.dumps({"before": ["precious.txt"]}))
    sweep(repo, record)
    assert (outside / "precious.txt").read_text() == "keep\n"
    assert not (repo / "precious.txt").exists()
