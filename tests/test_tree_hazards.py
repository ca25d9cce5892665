"""What a commit holds that a checkout elsewhere would not reproduce (``git/tree_hazards.py``):
the decisions by table, the git reading on a real repository."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from maestro.git.tree_hazards import (
    Change,
    commit_hazards,
    declared_paths,
    new_escapes,
    parse_raw_diff,
    resolves_outside,
    undeclared_gitlinks,
)


@pytest.mark.parametrize(("path", "links", "outside"), [
    ("a", {"a": "/etc/passwd"}, True),
    ("a", {"a": "../secret"}, True),
    ("sub/a", {"sub/a": "../b"}, False),
    ("sub/a", {"sub/a": "../../b"}, True),
    ("a", {"a": "sub/../../b"}, True),
    ("a", {"a": "b/c"}, False),
    ("a", {"a": "."}, False),
    # through another link of the commit: sub/up is the root, so b climbs above it
    ("b", {"sub/up": "..", "b": "sub/up/.."}, True),
    ("b", {"sub/up": "..", "b": "sub/up/x"}, False),
    ("b", {"top": "/", "b": "top/etc"}, True),
    ("sub/b", {"sub/a": "..", "sub/b": "a"}, False),
    # a loop resolves to nothing: it reaches no file anywhere
    ("a", {"a": "b", "b": "a"}, False),
], ids=["absolute", "parent", "sibling-folder", "climbs-out-of-sub", "dot-dot-inside-target",
        "inward", "itself", "via-link-then-dotdot", "via-link-inward", "via-absolute-link",
        "link-to-link-at-root", "loop"])
def test_where_a_link_resolves(path: str, links: dict[str, str], outside: bool) -> None:
    assert resolves_outside(path, links) is outside


def test_an_escaping_link_the_merge_base_had_with_the_same_target_is_the_repositorys() -> None:
    base = {"docs/shared": "../../shared-docs"}
    head = {"docs/shared": "../../shared-docs", "x": "/home/op/.ssh/id_rsa"}
    assert new_escapes(head, base) == {"x": "/home/op/.ssh/id_rsa"}


def test_an_escaping_link_repointed_by_the_change_is_named() -> None:
    base = {"docs/shared": "../../shared-docs"}
    assert new_escapes({"docs/shared": "/etc"}, base) == {"docs/shared": "/etc"}


@pytest.mark.parametrize(("changes", "declared", "named"), [
    ([Change("A", "160000", "vendor/lib")], [], ["vendor/lib"]),
    ([Change("A", "160000", "vendor/lib")], ["vendor/lib"], []),
    ([Change("M", "160000", "vendor/lib")], ["other"], ["vendor/lib"]),
    ([Change("D", "000000", "vendor/lib")], [], []),
    ([Change("A", "100644", "vendor/lib")], [], []),
], ids=["added-undeclared", "declared", "bumped-undeclared", "removed", "a-file"])
def test_which_submodule_entries_are_undeclared(changes: list[Change], declared: list[str],
                                                named: list[str]) -> None:
    assert undeclared_gitlinks(changes, declared) == named


@pytest.mark.parametrize(("entries", "declared"), [
    ([("submodule.lib.path", "vendor"), ("submodule.lib.url", "https://x/lib")], {"vendor"}),
    ([("submodule.lib.path", "vendor")], set()),
    ([("submodule.a.path", "vendor"), ("submodule.a.url", "junk"),
      ("submodule.a.path", "other")], {"other"}),
    ([("submodule.../x.path", "vendor"), ("submodule.../x.url", "junk")], set()),
    ([("submodule.a.b.path", "vendor"), ("submodule.a.b.url", "u")], {"vendor"}),
    ([("foo.bar.path", "vendor"), ("foo.bar.url", "u")], set()),
    ([("Submodule.lib.PATH", "vendor/"), ("submodule.lib.url", "u")], {"vendor"}),
], ids=["path-and-url", "no-url", "last-path-wins", "suspicious-name", "dotted-name",
        "other-section", "case-of-section-and-key"])
def test_which_submodule_paths_gitmodules_declares(entries: list[tuple[str, str]],
                                                   declared: set[str]) -> None:
    assert declared_paths(entries) == declared


def test_raw_diff_names_are_read_byte_for_byte() -> None:
    raw = (b":000000 120000 " + b"0" * 40 + b" " + b"1" * 40 + b" A\0 lead\xff\0"
           b":100644 100644 " + b"2" * 40 + b" " + b"3" * 40 + b" M\0a b.txt\0")
    assert parse_raw_diff(raw) == [Change("A", "120000", os.fsdecode(b" lead\xff")),
                                   Change("M", "100644", "a b.txt")]


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "t@example.com")
    git(repo, "config", "user.name", "t")
    (repo / "a.txt").write_text("a\n")
    os.symlink("../../shared", repo / "shared")  # the repository's own, on purpose
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    git(repo, "checkout", "-qb", "lane")
    return repo


def commit_all(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", message)
    return git(repo, "rev-parse", "HEAD")


def test_a_plain_change_has_no_hazard(repo: Path) -> None:
    (repo / "b.txt").write_text("b\n")
    assert commit_hazards(repo, "main", commit_all(repo, "b")) == []


def test_a_link_to_the_operators_files_is_named(repo: Path) -> None:
    os.symlink(str(Path.home() / ".ssh" / "id_rsa"), repo / "key")
    said = commit_hazards(repo, "main", commit_all(repo, "key"))
    assert len(said) == 1 and "'key'" in said[0] and "outside the repository" in said[0]


def test_a_link_within_the_repository_is_fine_and_the_bases_own_link_is_not_named(
        repo: Path) -> None:
    os.symlink("a.txt", repo / "alias")
    assert commit_hazards(repo, "main", commit_all(repo, "alias")) == []


def nested_repository(folder: Path) -> None:
    """A repository of its own inside the lane's, which ``git add`` records as a gitlink."""
    folder.mkdir()
    git(folder, "init", "-q")
    git(folder, "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-q",
        "--allow-empty", "-m", "x")


def test_a_nested_repository_committed_without_its_declaration_is_named(repo: Path) -> None:
    nested_repository(repo / "vendor")
    said = commit_hazards(repo, "main", commit_all(repo, "vendor"))
    assert len(said) == 1 and "submodule entry 'vendor'" in said[0]


def test_a_declaration_only_an_included_file_outside_the_repository_makes_is_none(
        repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.gitconfig"
    outside.write_text('[submodule "vendor"]\n\tpath = vendor\n\turl = https://x/v\n')
    (repo / ".gitmodules").write_text(f"[include]\n\tpath = {outside}\n")
    nested_repository(repo / "vendor")
    said = commit_hazards(repo, "main", commit_all(repo, "vendor"))
    assert len(said) == 1 and "submodule entry 'vendor'" in said[0]
