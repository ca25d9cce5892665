"""The local forge asks git each question once: what a call has just read, or a command's
own answer, is not asked again before the next outward step."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pytest
from forge.conftest import Remote, sh

from maestro.errors import ForgeError
from maestro.forges import local
from maestro.forges.local import LocalForge

BRANCH = "maestro/x-1"


def test_deleting_a_branch_removes_it_on_origin_and_a_missing_one_is_fine(
        remote: Remote) -> None:
    sh(remote.clone, "push", "--quiet", "origin", f"HEAD:refs/heads/{BRANCH}")
    forge = LocalForge(remote.clone, "origin")
    forge.delete_branch(BRANCH)
    assert remote.head(f"refs/heads/{BRANCH}") is None
    forge.delete_branch(BRANCH)  # idempotent
    assert remote.head("refs/heads/main") is not None


def _batches(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The names of each ``rev_parse_many`` batch the forge asks (still real git)."""
    seen: list[list[str]] = []
    real = local.rev_parse_many

    def recording(cwd: Path, refs: Iterable[str]) -> dict[str, str | None]:
        names = list(refs)
        seen.append(names)
        return real(cwd, names)

    monkeypatch.setattr(local, "rev_parse_many", recording)
    return seen


def _open_pr(remote: Remote, forge: LocalForge) -> int:
    remote.commit("feature.txt", "feature\n", "feature")
    forge.push(remote.clone, BRANCH)
    return forge.open_pr(BRANCH, "main", "feature", "").number


def test_a_refresh_with_its_check_kept_reads_heads_and_bases_in_one_process(
        remote: Remote, monkeypatch: pytest.MonkeyPatch) -> None:
    forge = LocalForge(remote.clone, "origin", ["true"])
    number = _open_pr(remote, forge)
    forge.refresh([number])  # runs the check and keeps it
    batches = _batches(monkeypatch)
    pr = forge.refresh([number])[number]
    assert batches == [[f"refs/heads/{BRANCH}", "refs/heads/main"]]
    assert pr.mergeable is True
    assert [c.state.value for c in pr.checks] == ["success"]


def test_a_refresh_that_runs_the_check_reads_the_bases_again_after_it(
        remote: Remote, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The check moves origin's base (as a slow check lets a person do): the PR conflicts.
    other = tmp_path / "other"
    sh(tmp_path, "clone", "--quiet", str(remote.origin), str(other))
    (other / "feature.txt").write_text("theirs\n")
    sh(other, "add", "feature.txt")
    sh(other, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "--quiet", "-m", "theirs")
    forge = LocalForge(remote.clone, "origin", [f"git -C {other} push --quiet origin main"])
    number = _open_pr(remote, forge)
    batches = _batches(monkeypatch)
    pr = forge.refresh([number])[number]
    assert batches == [[f"refs/heads/{BRANCH}", "refs/heads/main"], ["refs/heads/main"]]
    assert pr.mergeable is False


def test_a_push_given_the_head_its_caller_just_read_pushes_it_without_reading_head(
        remote: Remote, monkeypatch: pytest.MonkeyPatch) -> None:
    head = remote.commit("feature.txt", "feature\n", "feature")
    asked: list[Path] = []
    real = local.head_of

    def recording(cwd: Path) -> str:
        asked.append(cwd)
        return real(cwd)

    monkeypatch.setattr(local, "head_of", recording)
    forge = LocalForge(remote.clone, "origin")
    asked.clear()
    assert forge.push(remote.clone, BRANCH, head) == head
    assert asked == []
    assert remote.head(f"refs/heads/{BRANCH}") == head
    assert forge.push(remote.clone, BRANCH) == head  # unsaid: HEAD is read
    assert asked == [remote.clone]


def test_a_merge_reads_head_and_base_in_one_process_and_merges_the_expected_head(
        remote: Remote, monkeypatch: pytest.MonkeyPatch) -> None:
    forge = LocalForge(remote.clone, "origin")
    number = _open_pr(remote, forge)
    head = remote.head(f"refs/heads/{BRANCH}")
    assert head is not None
    batches = _batches(monkeypatch)
    commit = forge.merge(number, head, "merge")
    assert batches == [[f"refs/heads/{BRANCH}", "refs/heads/main"]]
    assert remote.head("refs/heads/main") == commit
    assert sh(remote.origin, "rev-parse", f"{commit}^2") == head


def test_a_merge_refuses_a_head_that_moved_since_it_was_validated(remote: Remote) -> None:
    forge = LocalForge(remote.clone, "origin")
    number = _open_pr(remote, forge)
    validated = remote.head(f"refs/heads/{BRANCH}")
    assert validated is not None
    remote.commit("later.txt", "later\n", "later")
    forge.push(remote.clone, BRANCH)
    with pytest.raises(ForgeError, match="not validated"):
        forge.merge(number, validated, "merge")
