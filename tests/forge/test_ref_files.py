"""Reading a branch from git's ref files: the value git has, or None when unsure
(maestro.forges.ref_files)."""

from __future__ import annotations

from pathlib import Path

import pytest
from forge.conftest import Remote, sh

from maestro.forges.ref_files import read_branch

A, B = "a" * 40, "b" * 40


def test_loose_and_packed_refs_read_as_git_reads_them(remote: Remote) -> None:
    head = remote.head("refs/heads/main")
    assert read_branch(remote.origin, "refs/heads/main") == head
    sh(remote.origin, "pack-refs", "--all", "--prune")
    assert not (remote.origin / "refs" / "heads" / "main").exists()
    assert read_branch(remote.origin, "refs/heads/main") == head


@pytest.mark.parametrize(("loose", "packed", "expected"), [
    (None, f"# pack-refs with: peeled fully-peeled sorted\n{B} refs/heads/main\n", B),
    (f"{A}\n", f"{B} refs/heads/main\n", A),  # a loose file wins
    (None, f"{B} refs/heads/other\n^{A}\n", None),
    ("ref: refs/heads/other\n", f"{B} refs/heads/main\n", None),  # symbolic: unsure
    ("garbage", None, None),
    (None, None, None),
])
def test_a_ref_is_read_from_its_file_or_packed_line(tmp_path: Path, loose: str | None,
                                                    packed: str | None,
                                                    expected: str | None) -> None:
    if loose is not None:
        (tmp_path / "refs" / "heads").mkdir(parents=True)
        (tmp_path / "refs" / "heads" / "main").write_text(loose)
    if packed is not None:
        (tmp_path / "packed-refs").write_text(packed)
    assert read_branch(tmp_path, "refs/heads/main") == expected


@pytest.mark.parametrize("ref", ["main", "refs/../../etc/passwd"])
def test_anything_but_a_plain_ref_path_is_unsure(tmp_path: Path, ref: str) -> None:
    assert read_branch(tmp_path, ref) is None


def test_a_folder_where_the_ref_file_should_be_is_unsure(tmp_path: Path) -> None:
    (tmp_path / "refs" / "heads" / "main").mkdir(parents=True)
    (tmp_path / "packed-refs").write_text(f"{B} refs/heads/main\n")
    assert read_branch(tmp_path, "refs/heads/main") is None
