"""The local forge's mergeability memo: the same answer as git, asked again when a file
git reads besides the two commits changes."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from forge.conftest import Remote, sh

from maestro.forges import local, merge_memo
from maestro.forges.local import LocalForge
from maestro.model import PullRequest


def conflicting(remote: Remote) -> tuple[str, PullRequest]:
    """``main`` and a PR head that both rewrite ``f`` (base commit, the PR)."""
    remote.commit("f", "a\n", "f")
    sh(remote.clone, "push", "--quiet", "origin", "main")
    sh(remote.clone, "checkout", "--quiet", "-b", "lane")
    head = remote.commit("f", "b\n", "lane change")
    sh(remote.clone, "checkout", "--quiet", "main")
    base = remote.commit("f", "c\n", "main change")
    sh(remote.clone, "push", "--quiet", "origin", "main", "lane")
    return base, PullRequest(number=1, url="local://origin/pulls/1", branch="lane",
                             base="main", head=head)


def test_a_repeated_question_gets_gits_answer(remote: Remote) -> None:
    forge = LocalForge(remote.clone, "origin")
    base, pr = conflicting(remote)
    first = forge._with_mergeability(pr, base)
    again = forge._with_mergeability(pr, base)
    assert (first.mergeable, first.conflict) == (False, "merge conflict with main in: f")
    assert (again.mergeable, again.conflict) == (first.mergeable, first.conflict)


def test_a_change_to_origins_attributes_asks_git_again(remote: Remote) -> None:
    forge = LocalForge(remote.clone, "origin")
    base, pr = conflicting(remote)
    assert forge._with_mergeability(pr, base).mergeable is False
    (remote.origin / "info").mkdir(exist_ok=True)
    (remote.origin / "info" / "attributes").write_text("f merge=union\n")
    assert forge._with_mergeability(pr, base).mergeable is True


def test_nothing_is_remembered_while_origins_config_includes_another_file(
        remote: Remote, monkeypatch: pytest.MonkeyPatch) -> None:
    # The included file can change (core.attributesFile, say) while origin's config does not.
    forge = LocalForge(remote.clone, "origin")
    base, pr = conflicting(remote)
    extra = remote.origin / "extra.config"
    extra.write_text("")
    with (remote.origin / "config").open("a") as config:
        config.write(f"[include]\n\tpath = {extra}\n")
    forge._with_mergeability(pr, base)
    assert merge_memo.recall(remote.origin, base, pr.head) is None


def test_a_shallow_file_in_origin_asks_git_again(remote: Remote) -> None:
    forge = LocalForge(remote.clone, "origin")
    base, pr = conflicting(remote)
    forge._with_mergeability(pr, base)
    assert merge_memo.recall(remote.origin, base, pr.head) is not None
    (remote.origin / "shallow").write_text(f"{pr.head}\n")
    assert merge_memo.recall(remote.origin, base, pr.head) is None


def test_attributes_in_the_home_folder_do_not_change_a_merge(
        remote: Remote, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # git reads ~/.config/git/attributes even with the global config off; the home folder
    # is the agent's to write (gitguard points core.attributesFile at /dev/null).
    home = tmp_path / "home"
    (home / ".config" / "git").mkdir(parents=True)
    (home / ".config" / "git" / "attributes").write_text("* merge=union\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    forge = LocalForge(remote.clone, "origin")
    base, pr = conflicting(remote)
    assert forge._with_mergeability(pr, base).mergeable is False


def test_only_commit_ids_are_remembered(tmp_path: Path) -> None:
    sha = "a" * 40
    merge_memo.keep(tmp_path, "main", sha, (True, ""), merge_memo.snapshot(tmp_path))
    assert merge_memo.recall(tmp_path, "main", sha) is None
    merge_memo.keep(tmp_path, "b" * 40, sha, (True, ""), merge_memo.snapshot(tmp_path))
    assert merge_memo.recall(tmp_path, "b" * 40, sha) == (True, "")


def test_an_unchanged_question_runs_no_git(remote: Remote,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    forge = LocalForge(remote.clone, "origin")
    base, pr = conflicting(remote)
    forge._with_mergeability(pr, base)
    calls: list[list[str]] = []
    real = subprocess.run

    def counting(argv: list[str], **kwargs: Any) -> Any:
        calls.append(argv)
        return real(argv, **kwargs)

    monkeypatch.setattr(local.subprocess, "run", counting)
    assert forge._with_mergeability(pr, base).mergeable is False
    assert calls == []
