"""The per-process memo of ``git config --list``: reused only while its sources keep their
bytes, so a driver the agent adds is disarmed by maestro's very next git call."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from maestro.containment import config_listing, gitguard
from maestro.errors import WorkspaceError
from maestro.git import git as maestros_git


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture(autouse=True)
def fresh_memo() -> Iterator[None]:
    config_listing.forget()
    yield
    config_listing.forget()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q")
    git(path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty",
        "-m", "root")
    return path


class CountingLister:
    """The real lister, counted."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, folder: Path, env: Mapping[str, str]
                 ) -> tuple[list[str], set[str]] | None:
        self.calls += 1
        return config_listing._listing(folder, env)


def keys(folder: Path, lister: CountingLister) -> list[str]:
    env = {**gitguard.base_env(), "GIT_CONFIG_COUNT": "0"}
    return config_listing.config_keys(folder, env, lister)


def drivers(folder: Path) -> dict[str, str]:
    env = gitguard.git_env(folder)
    count = int(env["GIT_CONFIG_COUNT"])
    return {env[f"GIT_CONFIG_KEY_{i}"]: env[f"GIT_CONFIG_VALUE_{i}"] for i in range(count)}


def test_an_unchanged_config_is_listed_once(repo: Path) -> None:
    lister = CountingLister()
    first = keys(repo, lister)
    assert keys(repo, lister) == first
    assert lister.calls == 1


def test_a_driver_added_to_the_config_is_disarmed_by_the_next_call(repo: Path) -> None:
    assert "filter.evil.clean" not in drivers(repo)
    git(repo, "config", "filter.evil.clean", "touch /tmp/owned")
    assert drivers(repo)["filter.evil.clean"] == ""


def test_a_same_size_rewrite_of_the_config_is_seen(repo: Path) -> None:
    config = repo / ".git" / "config"
    config.write_text(config.read_text() + "[diff \"aaaa\"]\n\ttextconv = x\n")
    assert drivers(repo)["diff.aaaa.textconv"] == ""
    stat = config.stat()
    config.write_text(config.read_text().replace("aaaa", "bbbb"))
    assert config.stat().st_size == stat.st_size
    assert drivers(repo)["diff.bbbb.textconv"] == ""


def test_a_worktree_config_the_agent_enables_is_seen(repo: Path, tmp_path: Path) -> None:
    lane = tmp_path / "lane"
    git(repo, "worktree", "add", "-q", "-b", "lane", str(lane))
    assert "merge.evil.driver" not in drivers(lane)
    git(lane, "config", "extensions.worktreeConfig", "true")
    git(lane, "config", "--worktree", "merge.evil.driver", "touch /tmp/owned")
    assert drivers(lane)["merge.evil.driver"] == "exit 1"


def test_a_worktree_repointed_at_another_git_dir_is_listed_again(repo: Path,
                                                                tmp_path: Path) -> None:
    lane = tmp_path / "lane"
    git(repo, "worktree", "add", "-q", "-b", "lane", str(lane))
    lister = CountingLister()
    keys(lane, lister)
    other = tmp_path / "other"
    other.mkdir()
    git(other, "init", "-q")
    git(other, "config", "filter.evil.smudge", "touch /tmp/owned")
    (lane / ".git").write_text(f"gitdir: {other / '.git'}\n")
    assert "filter.evil.smudge" in keys(lane, lister)
    assert lister.calls == 2


def test_a_config_with_includes_is_listed_before_every_call(repo: Path,
                                                            tmp_path: Path) -> None:
    included = tmp_path / "included.cfg"
    git(repo, "config", "include.path", str(included))
    lister = CountingLister()
    keys(repo, lister)
    included.write_text("[filter \"evil\"]\n\tclean = touch /tmp/owned\n")
    assert "filter.evil.clean" in keys(repo, lister)
    assert lister.calls == 2


def test_a_subfolder_is_never_cached(repo: Path) -> None:
    sub = repo / "src"
    sub.mkdir()
    lister = CountingLister()
    keys(sub, lister)
    keys(sub, lister)
    assert lister.calls == 2


def test_a_bare_repository_is_cached_and_sees_changes(tmp_path: Path) -> None:
    bare = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    lister = CountingLister()
    keys(bare, lister)
    keys(bare, lister)
    assert lister.calls == 1
    git(bare, "config", "remote.x.uploadpack", "touch /tmp/owned")
    assert drivers(bare)["remote.x.uploadpack"] == "git-upload-pack"


@pytest.mark.parametrize(("listed", "expected"), [
    (["core.bare"], True),
    (["core.bare", "include.path"], False),
    (["core.bare", "includeIf.onbranch:x.path"], False),
])
def test_only_listings_without_includes_are_kept(repo: Path, listed: list[str],
                                                 expected: bool) -> None:
    sources = config_listing.config_sources(repo)
    assert sources is not None
    origins = {".git/config"}
    assert config_listing.cacheable(repo, listed, origins, sources) is expected


def test_a_listing_from_an_unknown_file_is_not_kept(repo: Path, tmp_path: Path) -> None:
    sources = config_listing.config_sources(repo)
    assert sources is not None
    assert not config_listing.cacheable(repo, ["core.bare"], {str(tmp_path / "x")}, sources)


def test_a_config_switched_away_and_back_around_the_listing_keeps_the_drivers_seen(
        repo: Path) -> None:
    config = repo / ".git" / "config"
    clean = config.read_text()
    planted = clean + "[filter \"evil\"]\n\tclean = touch /tmp/owned\n"
    config.write_text(planted)

    def flipping(folder: Path, env: Mapping[str, str]) -> tuple[list[str], set[str]] | None:
        config.write_text(clean)  # git lists the clean config...
        try:
            return config_listing._listing(folder, env)
        finally:
            config.write_text(planted)  # ...and the plant is back before maestro looks again

    env = {**gitguard.base_env(), "GIT_CONFIG_COUNT": "0"}
    config_listing.config_keys(repo, env, flipping)
    assert drivers(repo)["filter.evil.clean"] == ""


@pytest.fixture
def lane(repo: Path, tmp_path: Path) -> Path:
    path = tmp_path / "lane"
    git(repo, "worktree", "add", "-q", "-b", "lane", str(path))
    return path


def test_a_new_worktree_borrows_the_listing_kept_for_its_repository(repo: Path,
                                                                   lane: Path) -> None:
    git(repo, "config", "diff.tool.textconv", "cat")
    lister = CountingLister()
    first = keys(repo, lister)
    assert keys(lane, lister) == first
    assert keys(lane, lister) == first  # and keeps it as its own
    assert lister.calls == 1
    assert drivers(lane)["diff.tool.textconv"] == ""


def test_a_shared_config_changed_after_the_listing_is_not_borrowed(repo: Path,
                                                                   lane: Path) -> None:
    lister = CountingLister()
    keys(repo, lister)
    git(repo, "config", "filter.evil.clean", "touch /tmp/owned")
    assert "filter.evil.clean" in keys(lane, lister)
    assert lister.calls == 2


def test_a_config_in_the_worktrees_own_git_dir_is_not_borrowed(repo: Path,
                                                               lane: Path) -> None:
    lister = CountingLister()
    keys(repo, lister)
    own = Path(git(lane, "rev-parse", "--absolute-git-dir"))
    (own / "config.worktree").write_text("[merge \"evil\"]\n\tdriver = touch /tmp/owned\n")
    keys(lane, lister)  # git reads it only with extensions.worktreeConfig; asked either way
    assert lister.calls == 2


@pytest.mark.parametrize("name", ["config", "config.worktree", "commondir"])
def test_a_fifo_in_place_of_a_config_source_stops_maestros_git_without_waiting(
        repo: Path, name: str) -> None:
    """Breaker 27 F2, F12: a FIFO can hand the listing one config and the next git another
    (or, as ``commondir``, a marker was taken for a path): no git runs there at all."""
    target = repo / ".git" / name
    target.unlink(missing_ok=True)
    os.mkfifo(target)
    with pytest.raises(config_listing.ConfigSourceError, match="not a regular file"):
        gitguard.git_env(repo)
    with pytest.raises(WorkspaceError, match=name):
        maestros_git(repo, "status")


@pytest.mark.parametrize("pointer", [
    b"gitdir:{gitdir}\n",        # no space after the colon: git refuses the file
    b"gitdir: {gitdir}\0junk\n",  # git's string ends at the NUL (F4)
])
def test_a_worktree_pointer_git_reads_otherwise_is_never_cached_or_borrowed(
        repo: Path, tmp_path: Path, pointer: bytes) -> None:
    worktree = tmp_path / "wt"
    git(repo, "worktree", "add", "-q", str(worktree))
    real = (worktree / ".git").read_bytes().removeprefix(b"gitdir: ").strip()
    (worktree / ".git").write_bytes(pointer.replace(b"{gitdir}", real))
    assert config_listing.config_sources(worktree) is None


def test_a_commondir_with_a_nul_is_never_cached(repo: Path, tmp_path: Path) -> None:
    """git's string ends at the NUL; maestro names no sources then (git lists for itself)."""
    worktree = tmp_path / "wt"
    git(repo, "worktree", "add", "-q", str(worktree))
    commondir = Path(git(worktree, "rev-parse", "--absolute-git-dir")) / "commondir"
    commondir.write_bytes(b"../..\0x\n")
    assert config_listing.config_sources(worktree) is None


@pytest.mark.parametrize(("dotgit_tail", "commondir", "common"), [
    (b"", b"../.. \n", "../.. "),     # breaker 27 F1: spaces are part of the path to git
    (b"", b"x\ny\r\n", "x\ny"),       # breaker 27 F3: only the trailing CR/LF go
])
def test_pointers_are_read_exactly_as_git_reads_them(
        repo: Path, tmp_path: Path, dotgit_tail: bytes, commondir: bytes, common: str) -> None:
    """maestro stripped every space and fell back to the git dir on an inner newline, and
    so fingerprinted other config files than the ones git read (breaker 27 F1, F3)."""
    worktree = tmp_path / "wt"
    git(repo, "worktree", "add", "-q", str(worktree))
    gitdir = git(worktree, "rev-parse", "--absolute-git-dir")
    (worktree / ".git").write_bytes(b"gitdir: " + gitdir.encode() + dotgit_tail + b"\n")
    named = gitdir + dotgit_tail.decode()
    (Path(gitdir) / "commondir").write_bytes(commondir)
    sources = config_listing.config_sources(worktree)
    assert sources is not None
    assert sources[1:] == [f"{named}/commondir", f"{named}/config", f"{named}/config.worktree",
                           f"{named}/{common}/config", f"{named}/{common}/config.worktree"]


def test_a_dotgit_file_with_a_trailing_space_names_the_folder_git_names(
        repo: Path, tmp_path: Path) -> None:
    worktree = tmp_path / "wt"
    git(repo, "worktree", "add", "-q", str(worktree))
    gitdir = git(worktree, "rev-parse", "--absolute-git-dir")
    (worktree / ".git").write_bytes(b"gitdir: " + gitdir.encode() + b" \n")
    sources = config_listing.config_sources(worktree)
    assert sources is not None and sources[1] == f"{gitdir} /commondir"


@pytest.mark.parametrize("how", ["a symlinked .git", "a .git file cut by a NUL"])
def test_a_fifo_config_behind_a_pointer_that_is_never_cached_is_refused_too(
        repo: Path, tmp_path: Path, how: str) -> None:
    """Breaker 28 F1: where the sources were not trusted for a kept listing, they were not
    looked at either, and a FIFO config behind them answered each reader differently."""
    folder = tmp_path / "work"
    folder.mkdir()
    own = tmp_path / "own.git"
    git(tmp_path, "init", "-q", "--bare", str(own))
    if how == "a symlinked .git":
        (folder / ".git").symlink_to(own)
    else:
        (folder / ".git").write_bytes(b"gitdir: " + bytes(own) + b"\0junk\n")
    (own / "config").unlink()
    os.mkfifo(own / "config")
    with pytest.raises(config_listing.ConfigSourceError, match="not a regular file"):
        gitguard.git_env(folder)
