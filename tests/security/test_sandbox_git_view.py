"""Under bubblewrap the lane's git work still commits, amends and rebases, and nothing else of
the repository's common git dir is writable: the operator's ``main``, ``HEAD``, index,
``packed-refs``, remote-tracking refs, ``objects/info/alternates``, ``commondir``, other
lanes' refs and the worktree's own config files (``maestro/containment/git_view.py``), nor
the shared object store: what the sandbox writes into ``objects/`` lands in the lane's
private store, and only a hashing import takes it further
(``maestro/containment/private_objects.py``, ``object_import.py``)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from maestro.containment.git_view import lane_git_layers, ref_folder
from maestro.containment.object_import import ObjectImportError, import_objects
from maestro.containment.sandbox import bubblewrap_prefix
from maestro.errors import ConfigError
from maestro.lanes.confinement.tamper import changes, control_roots, fingerprint
from tests.gitrepo import sh
from tests.security.bwrap_support import needs_bwrap

BRANCH = "maestro/demo-1"
IDENTITY = {f"GIT_{role}_{what}": value for role in ("AUTHOR", "COMMITTER")
            for what, value in (("NAME", "t"), ("EMAIL", "t@example.invalid"))}


@dataclass(frozen=True)
class Lane:
    repo: Path
    common: Path
    own: Path  #: the worktree's own git dir
    worktree: Path
    #: The lane's sandbox, as maestro/lanes/confinement/confine.py builds it: the repository root
    #: read-only, the worktree writable, then the git dir (built once: it makes the mount
    #: points it needs).
    prefix: tuple[str, ...]

    def run(self, script: str) -> subprocess.CompletedProcess[str]:
        """``script`` in the worktree, behind the lane's sandbox."""
        argv = [*self.prefix, "/bin/sh", "-c", script]
        env = {"PATH": "/usr/bin:/bin", "HOME": str(self.repo.parent), "C": str(self.common),
               "G": str(self.own), "GIT_CONFIG_NOSYSTEM": "1", **IDENTITY}
        return subprocess.run(argv, cwd=self.worktree, env=env, capture_output=True, text=True,
                              check=False)


@pytest.fixture
def lane(tmp_path: Path) -> Lane:
    """A repository whose ``main`` is only in ``packed-refs`` (a loose ``main`` would shadow
    it), another lane's loose branch, a remote-tracking ref, and this lane's worktree."""
    repo = tmp_path / "repo"
    sh(tmp_path, "init", "--quiet", "--initial-branch=main", str(repo))
    (repo / "a.txt").write_text("a\n")
    sh(repo, "add", "-A")
    sh(repo, "-c", "user.name=t", "-c", "user.email=t@x", "commit", "--quiet", "-m", "a")
    sh(repo, "update-ref", "refs/remotes/origin/main", "main")
    sh(repo, "pack-refs", "--all")
    sh(repo, "branch", "maestro/demo-2", "main")
    worktree = repo / ".worktrees" / "DEMO-1"
    sh(repo, "worktree", "add", "--quiet", "-b", BRANCH, str(worktree), "main")
    sh(worktree, "-c", "user.name=t", "-c", "user.email=t@x", "commit", "--quiet",
       "--allow-empty", "-m", "the lane's")  # HEAD is no other ref's commit
    common, own = repo / ".git", repo / ".git" / "worktrees" / "DEMO-1"
    layers = [("ro", repo), ("rw", worktree), *lane_git_layers(common, own, BRANCH)]
    prefix = bubblewrap_prefix(control_roots(worktree), layers=layers)
    return Lane(repo, common, own, worktree, tuple(prefix))


def _snapshot(common: Path) -> dict[str, bytes]:
    """Every file of the git dir but the objects, by its bytes."""
    return {p.relative_to(common).as_posix(): p.read_bytes() for p in sorted(common.rglob("*"))
            if p.is_file() and "objects" not in p.relative_to(common).parts}


@needs_bwrap
def test_the_lane_commits_amends_and_rebases_inside_the_sandbox(lane: Lane) -> None:
    (lane.repo / "b.txt").write_text("b\n")  # main moves on outside: the lane rebases onto it
    sh(lane.repo, "add", "b.txt")
    sh(lane.repo, "-c", "user.name=t", "-c", "user.email=t@x", "commit", "--quiet", "-m", "b")
    done = lane.run("set -e; echo c > c.txt; git add c.txt; git commit -q -m c; "
                    "git commit -q --amend -m c2; echo d > d.txt; git add d.txt; "
                    "git commit -q -m d; git rebase -q main; "
                    "GIT_SEQUENCE_EDITOR=true git rebase -q -i main")
    assert done.returncode == 0, done.stderr
    assert import_objects(lane.repo, lane.worktree, BRANCH, settle=True) is not None
    subjects = sh(lane.worktree, "log", "--format=%s", "main..HEAD").splitlines()
    assert subjects == ["d", "c2", "the lane's"]
    assert sh(lane.repo, "rev-parse", BRANCH) == sh(lane.worktree, "rev-parse", "HEAD")
    assert sh(lane.repo, "rev-parse", f"{BRANCH}~3") == sh(lane.repo, "rev-parse", "main")
    reflog = sh(lane.repo, "reflog", "--format=%gs", BRANCH)
    assert "commit (amend): c2" in reflog and "rebase" in reflog


WRITES = {
    "the operator's main (packed only)": "git update-ref refs/heads/main HEAD",
    "a remote-tracking ref": "git update-ref refs/remotes/origin/main HEAD",
    "a tag": "git update-ref refs/tags/v1 HEAD",
    "another lane's branch": "git update-ref refs/heads/maestro/demo-2 HEAD",
    "another lane's branch, without a reflog":
        "git -c core.logAllRefUpdates=false update-ref refs/heads/maestro/demo-2 HEAD",
    "another lane's ref file, removed": "rm -f $C/refs/heads/maestro/demo-2",
    "the main checkout's HEAD": "echo ref: refs/heads/evil > $C/HEAD",
    "the main checkout's index": "echo x > $C/index",
    "packed-refs": "echo x >> $C/packed-refs",
    "an object alternate": "echo /tmp > $C/objects/info/alternates",
    "the common git dir's commondir": "echo /tmp > $C/commondir",
    "the common config": "git config --file $C/config core.fsmonitor /bin/false",
    "the worktree's commondir": "echo /tmp > $G/commondir",
    "the worktree's gitdir": "echo /tmp > $G/gitdir",
    "the worktree's config.worktree": "git config --file $G/config.worktree core.fsmonitor x",
    "the worktree's git pointer": "echo gitdir: /tmp > .git",
}


@needs_bwrap
@pytest.mark.parametrize("script", WRITES.values(), ids=WRITES.keys())
def test_everything_else_of_the_git_dir_is_read_only_inside_the_sandbox(
        lane: Lane, script: str) -> None:
    before = _snapshot(lane.common)
    pointer = (lane.worktree / ".git").read_bytes()
    refused = lane.run(FIND_SHARED + script)
    assert refused.returncode != 0, refused.stderr
    assert _snapshot(lane.common) == before
    assert (lane.worktree / ".git").read_bytes() == pointer


def test_a_lane_branch_without_a_folder_is_refused_under_the_sandbox(tmp_path: Path) -> None:
    assert ref_folder(tmp_path, "maestro/demo-1") == tmp_path / "refs" / "heads" / "maestro"
    with pytest.raises(ConfigError, match="branch_prefix"):
        ref_folder(tmp_path, "demo-1")


def test_the_empty_config_worktree_the_sandbox_makes_is_no_change_to_the_control_files(
        tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    sh(tmp_path, "init", "--quiet", "--initial-branch=main", str(repo))
    sh(repo, "-c", "user.name=t", "-c", "user.email=t@x", "commit", "-q", "--allow-empty",
       "-m", "a")
    worktree = repo / ".worktrees" / "DEMO-1"
    sh(repo, "worktree", "add", "--quiet", "-b", BRANCH, str(worktree))
    own = repo / ".git" / "worktrees" / "DEMO-1"
    roots = control_roots(worktree)
    before = fingerprint(roots, repo)
    lane_git_layers(repo / ".git", own, BRANCH)
    assert (own / "config.worktree").read_bytes() == b""
    assert changes(before, fingerprint(roots, repo)) == []
    (own / "config.worktree").write_text("[core]\n\tfsmonitor = /bin/false\n")
    assert changes(before, fingerprint(roots, repo)) == [".git/worktrees/DEMO-1/config.worktree"]


def repository_with_lane_worktree(tmp_path: Path) -> Path:
    """A repository with one commit and the lane worktree ``.worktrees/DEMO-1``."""
    repo = tmp_path / "repo"
    sh(tmp_path, "init", "--quiet", "--initial-branch=main", str(repo))
    sh(repo, "-c", "user.name=t", "-c", "user.email=t@x", "commit", "-q", "--allow-empty",
       "-m", "a")
    sh(repo, "worktree", "add", "--quiet", "-b", BRANCH, str(repo / ".worktrees" / "DEMO-1"))
    return repo


def test_the_sandbox_never_makes_its_mount_points_through_a_planted_link(
        tmp_path: Path) -> None:
    repo = repository_with_lane_worktree(tmp_path)
    own, logs = repo / ".git" / "worktrees" / "DEMO-1", repo / ".git" / "logs" / "refs" / "heads"
    (logs / BRANCH).unlink()
    (logs / BRANCH).symlink_to(tmp_path / "planted-reflog")
    (own / "config.worktree").symlink_to(tmp_path / "planted-config")
    lane_git_layers(repo / ".git", own, BRANCH)
    assert not (tmp_path / "planted-reflog").exists()
    assert not (tmp_path / "planted-config").exists()


#: ``p NAME``: the loose object file of NAME under ``$1`` (an objects folder).
LOOSE = 'p() { echo "$1/$(echo "$2" | cut -c1-2)/$(echo "$2" | cut -c3-)"; }; '
#: A blob with other content, written by the sandbox's git (into the lane's private store).
EVIL = "B=$(git rev-parse main:a.txt); E=$(printf 'evil\\n' | git hash-object -w --stdin); "
#: The shared store as the sandbox reaches it (its read-only mount; before the private store
#: existed, ``$C/objects`` itself).
SHARED = "$S"
FIND_SHARED = 'S=$G/maestro-shared-objects; [ -d "$S" ] || S=$C/objects; '

#: Writes that land in the lane's private store (the sandbox's ``$C/objects``).
PRIVATE_WRITES = {
    "an existing loose object's file, replaced":
        LOOSE + EVIL + 'mkdir -p "$(dirname "$(p $C/objects $B)")"; '
        'cp "$(p $C/objects $E)" "$(p $C/objects $B)"',
    "a pack and its index": "git repack -q -a -d && ls $C/objects/pack/*.idx",
    "a new loose object": "echo new | git hash-object -w --stdin",
}

#: Writes into the shared store itself (its mount inside the sandbox): refused.
SHARED_WRITES = {
    "an existing loose object's file, replaced": LOOSE + EVIL +
        'chmod u+w "$(p ' + SHARED + ' $B)"; cp "$(p $C/objects $E)" "$(p ' + SHARED + ' $B)"',
    "an existing loose object's file, removed": LOOSE + EVIL + 'rm -f "$(p ' + SHARED + ' $B)"',
    "a pack and its index": "cp /dev/null " + SHARED + "/pack/pack-0.pack",
    "a new loose object": "mkdir " + SHARED + "/00",
    "the mount of the private store, renamed": "mv $G/maestro-objects $G/elsewhere",
}


def _objects(common: Path) -> dict[str, bytes]:
    """Every file of the shared object store, by its bytes."""
    store = common / "objects"
    return {p.relative_to(store).as_posix(): p.read_bytes() for p in sorted(store.rglob("*"))
            if p.is_file()}


@needs_bwrap
@pytest.mark.parametrize("script", PRIVATE_WRITES.values(), ids=PRIVATE_WRITES.keys())
def test_what_the_sandbox_writes_into_objects_lands_in_its_private_store(
        lane: Lane, script: str) -> None:
    before = _objects(lane.common)
    done = lane.run("set -e; " + script)
    assert done.returncode == 0, done.stderr
    assert _objects(lane.common) == before
    assert sh(lane.repo, "show", "main:a.txt") == "a"  # as any other lane checks it out
    assert any((lane.own / "maestro-objects").iterdir())


@needs_bwrap
@pytest.mark.parametrize("script", SHARED_WRITES.values(), ids=SHARED_WRITES.keys())
def test_the_shared_object_store_is_read_only_inside_the_sandbox(lane: Lane, script: str) -> None:
    before = _objects(lane.common)
    refused = lane.run(FIND_SHARED + script)
    assert refused.returncode != 0, refused.stderr
    assert _objects(lane.common) == before
    assert sh(lane.repo, "show", "main:a.txt") == "a"


@needs_bwrap
def test_an_object_swapped_in_the_private_store_never_enters_the_shared_store(
        lane: Lane) -> None:
    done = lane.run("set -e; " + LOOSE + "echo good > c.txt; git add c.txt; git commit -q -m c; "
                    "G=$(git rev-parse HEAD:c.txt); E=$(echo evil | git hash-object -w --stdin); "
                    'chmod u+w "$(p $C/objects $G)"; cp "$(p $C/objects $E)" "$(p $C/objects $G)"; '
                    "echo $G")
    assert done.returncode == 0, done.stderr
    good = done.stdout.split()[-1]
    with pytest.raises(ObjectImportError, match=r"refused|not among"):
        import_objects(lane.repo, lane.worktree, BRANCH, settle=True)
    absent = subprocess.run(["git", "cat-file", "-e", good], cwd=lane.repo, check=False)
    assert absent.returncode != 0  # never under the name it claimed
    assert "mismatch" not in subprocess.run(["git", "fsck", "--no-dangling"], cwd=lane.repo,
                                            capture_output=True, text=True).stderr
    assert sh(lane.repo, "show", "main:a.txt") == "a"


def test_a_link_planted_in_place_of_the_private_store_is_replaced_before_binding(
        tmp_path: Path) -> None:
    repo = repository_with_lane_worktree(tmp_path)
    common, own = repo / ".git", repo / ".git" / "worktrees" / "DEMO-1"
    # Bound writable at objects/ by the next sandbox, a link would make the shared store so.
    (own / "maestro-objects").symlink_to(common / "objects")
    layers = lane_git_layers(common, own, BRANCH)
    store = own / "maestro-objects"
    assert store.is_dir() and not store.is_symlink()
    assert ("rw", store, common / "objects") in layers
    assert (store / "info" / "alternates").read_text() == f"{own / 'maestro-shared-objects'}\n"
    assert not (common / "objects" / "info" / "alternates").exists()
