"""Origin's heads as the preflight read them: kept per branch, handed out once."""

from __future__ import annotations

from pathlib import Path

import pytest

from maestro.lanes.worktree import remote_heads

SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.mark.parametrize(("output", "expected"), [
    (f"{SHA}\trefs/heads/main\n", SHA),
    (f"{SHA}\trefs/heads/main-old\n", None),  # another branch that starts with the name
    ("", None),
    (f"ffff\trefs/heads/other\n{SHA}\trefs/heads/main\n", SHA),
])
def test_the_base_branch_commit_is_read_from_ls_remote(
        tmp_path: Path, output: str, expected: str | None) -> None:
    remote_heads.remember(tmp_path, "origin", "main", output)
    assert remote_heads.take(tmp_path, "origin", "main") == expected


def test_an_answer_is_used_once(tmp_path: Path) -> None:
    remote_heads.remember(tmp_path, "origin", "main", f"{SHA}\trefs/heads/main\n")
    assert remote_heads.take(tmp_path, "origin", "main") == SHA
    assert remote_heads.take(tmp_path, "origin", "main") is None


def test_answers_are_kept_per_repository_and_remote(tmp_path: Path) -> None:
    remote_heads.remember(tmp_path, "origin", "main", f"{SHA}\trefs/heads/main\n")
    assert remote_heads.take(tmp_path, "upstream", "main") is None
    assert remote_heads.take(tmp_path / "other", "origin", "main") is None
    assert remote_heads.take(tmp_path, "origin", "main") == SHA


def test_an_old_answer_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    remote_heads.remember(tmp_path, "origin", "main", f"{SHA}\trefs/heads/main\n")
    later = remote_heads.time.monotonic() + remote_heads.FRESH_S + 1
    monkeypatch.setattr(remote_heads.time, "monotonic", lambda: later)
    assert remote_heads.take(tmp_path, "origin", "main") is None


@pytest.mark.parametrize(("output", "absent"), [
    ("", True),
    (f"{SHA}\trefs/heads/main\n", True),  # only the base was listed
    (f"{SHA}\trefs/heads/maestro/abc-1-old\n", True),
    (f"{SHA}\trefs/heads/maestro/abc-1\n", False),
])
def test_a_branch_the_remote_did_not_list_is_known_absent(
        tmp_path: Path, output: str, absent: bool) -> None:
    remote_heads.remember(tmp_path, "origin", "maestro/abc-1", output)
    assert remote_heads.take_absent(tmp_path, "origin", "maestro/abc-1") is absent


def test_absence_is_used_once(tmp_path: Path) -> None:
    remote_heads.remember(tmp_path, "origin", "maestro/abc-1", "")
    assert remote_heads.take_absent(tmp_path, "origin", "maestro/abc-1")
    assert not remote_heads.take_absent(tmp_path, "origin", "maestro/abc-1")


def test_an_old_absence_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    remote_heads.remember(tmp_path, "origin", "maestro/abc-1", "")
    later = remote_heads.time.monotonic() + remote_heads.FRESH_S + 1
    monkeypatch.setattr(remote_heads.time, "monotonic", lambda: later)
    assert not remote_heads.take_absent(tmp_path, "origin", "maestro/abc-1")


def test_nothing_was_asked_is_not_absence(tmp_path: Path) -> None:
    assert not remote_heads.take_absent(tmp_path, "origin", "maestro/abc-1")
