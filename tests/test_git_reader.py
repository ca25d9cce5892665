"""The long-lived ``cat-file`` readers behind maestro's commit lookups
(maestro/git/reader.py): each answer is the one a new git process would give, whatever
happened to the repository since the reader started, and a reader never outlives its
process or misleads another."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from maestro.containment.config_listing import ConfigSourceError
from maestro.git import head_and_tree, head_of, reader, rev_parse, rev_parse_many
from maestro.git.reader import MAX_READERS
from tests.gitrepo import sh, small_repo


@pytest.fixture(autouse=True)
def _no_readers() -> Iterator[None]:
    reader.close_all()
    yield
    reader.close_all()


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return small_repo(tmp_path, monkeypatch, ("a", "b"))


def reader_pids() -> list[int]:
    return [r.proc.pid for r in reader._READERS.values()]


def test_one_reader_answers_every_question_about_a_folder(repo: Path) -> None:
    for _ in range(5):
        assert rev_parse(repo, "HEAD") == sh(repo, "rev-parse", "HEAD")
        rev_parse_many(repo, ["main", "HEAD~1"])
    assert reader.open_readers() == 1


def test_files_written_in_the_folder_keep_its_reader(repo: Path) -> None:
    head_of(repo)
    (first,) = reader_pids()
    (repo / "new.txt").write_text("the agent's file\n")
    (repo / "a.txt").unlink()
    head_of(repo)
    assert reader_pids() == [first]


def test_a_commit_made_after_the_reader_started_is_seen(repo: Path) -> None:
    before = head_of(repo)
    sh(repo, "commit", "--quiet", "--allow-empty", "-m", "c")
    assert head_of(repo) == sh(repo, "rev-parse", "HEAD") != before


def test_refs_packed_moved_and_deleted_after_the_reader_started_are_seen(repo: Path) -> None:
    sh(repo, "branch", "x", "HEAD~1")
    assert rev_parse(repo, "x") == sh(repo, "rev-parse", "HEAD~1")
    sh(repo, "pack-refs", "--all")
    sh(repo, "update-ref", "refs/heads/x", "HEAD")
    assert rev_parse(repo, "x") == sh(repo, "rev-parse", "HEAD")
    sh(repo, "pack-refs", "--all")
    sh(repo, "update-ref", "-d", "refs/heads/x")
    assert rev_parse(repo, "x") is None


def test_objects_repacked_after_the_reader_started_are_found(repo: Path) -> None:
    head_of(repo)
    sh(repo, "commit", "--quiet", "--allow-empty", "-m", "c")
    sh(repo, "repack", "-a", "-d", "-q")
    assert head_and_tree(repo) == (sh(repo, "rev-parse", "HEAD"),
                                   sh(repo, "rev-parse", "HEAD^{tree}"))


def test_a_worktree_added_again_at_the_same_path_gets_a_reader_of_its_own(
        repo: Path, tmp_path: Path) -> None:
    worktree = tmp_path / "wt"
    sh(repo, "worktree", "add", "--quiet", "-b", "one", str(worktree), "HEAD~1")
    assert head_of(worktree) == sh(repo, "rev-parse", "HEAD~1")
    sh(repo, "worktree", "remove", "--force", str(worktree))
    sh(repo, "worktree", "add", "--quiet", "-b", "two", str(worktree), "HEAD")
    assert head_of(worktree) == sh(repo, "rev-parse", "HEAD")


def test_a_repointed_git_file_is_followed_as_a_new_process_would(
        repo: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "one", tmp_path / "two"
    sh(repo, "worktree", "add", "--quiet", "-b", "b1", str(first), "HEAD~1")
    sh(repo, "worktree", "add", "--quiet", "-b", "b2", str(second), "HEAD")
    assert head_of(first) == sh(repo, "rev-parse", "HEAD~1")
    (first / ".git").write_text((second / ".git").read_text())
    assert head_of(first) == sh(first, "rev-parse", "HEAD") == sh(repo, "rev-parse", "HEAD")


def test_a_driver_added_to_the_config_starts_a_reader_with_it_disarmed(repo: Path) -> None:
    head_of(repo)
    sh(repo, "config", "filter.planted.clean", "touch /tmp/never")
    head_of(repo)
    (only,) = reader._READERS.values()
    overrides = {only.env[f"GIT_CONFIG_KEY_{n}"]: only.env[f"GIT_CONFIG_VALUE_{n}"]
                 for n in range(int(only.env["GIT_CONFIG_COUNT"]))}
    assert overrides["filter.planted.clean"] == ""


def test_a_config_that_is_a_fifo_stops_the_question_though_a_reader_is_open(
        repo: Path) -> None:
    head_of(repo)
    config = repo / ".git" / "config"
    config.unlink()
    os.mkfifo(config)
    with pytest.raises(ConfigSourceError):
        head_of(repo)


def test_a_reader_that_died_is_replaced_and_the_answer_still_comes(repo: Path) -> None:
    head_of(repo)
    (pid,) = reader_pids()
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    assert head_of(repo) == sh(repo, "rev-parse", "HEAD")
    assert reader.open_readers() == 0  # given up; the next question starts one again
    head_of(repo)
    assert reader_pids() not in ([], [pid])


def test_a_reader_that_stops_answering_is_given_up_after_its_timeout(
        repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    head_of(repo)
    (pid,) = reader_pids()
    monkeypatch.setattr(reader, "ANSWER_TIMEOUT_S", 0.2)
    os.kill(pid, signal.SIGSTOP)
    try:
        assert head_of(repo) == sh(repo, "rev-parse", "HEAD")  # from a process of its own
    finally:
        with contextlib.suppress(ProcessLookupError):  # given up: killed
            os.kill(pid, signal.SIGCONT)
    assert pid not in reader_pids()


def test_no_other_process_can_open_a_readers_channel(repo: Path) -> None:
    """Breaker 30 F1: through ``/proc/<pid>/fd`` a same-user process opened the reader's
    pipes and wrote a question or an answer of its own into them."""
    head_of(repo)
    (pid,) = reader_pids()
    for fd in (0, 1):
        with pytest.raises(OSError):
            open(f"/proc/{pid}/fd/{fd}", "wb")  # noqa: SIM115 - never opens


def test_an_answer_nobody_asked_for_puts_the_reader_out_of_use(repo: Path) -> None:
    head_of(repo)
    (only,) = reader._READERS.values()
    only.channel.sendall(b"refs/heads/main~1^{commit}\n")  # one more question than asked
    assert head_of(repo) == sh(repo, "rev-parse", "HEAD")
    assert reader.open_readers() == 0


def test_a_commit_pruned_after_the_reader_saw_it_is_gone_for_it_too(repo: Path) -> None:
    sh(repo, "branch", "doomed", "HEAD")
    sh(repo, "checkout", "-q", "--detach", "HEAD~1")
    sh(repo, "commit", "-q", "--allow-empty", "-m", "only on doomed's side")
    sh(repo, "branch", "-f", "doomed", "HEAD")
    doomed = sh(repo, "rev-parse", "doomed")
    sh(repo, "checkout", "-q", "main")
    sh(repo, "repack", "-a", "-d", "-q")
    assert rev_parse(repo, doomed) == doomed
    sh(repo, "branch", "-D", "doomed")
    sh(repo, "reflog", "expire", "--expire=now", "--all")
    sh(repo, "repack", "-a", "-d", "-q")
    sh(repo, "prune", "--expire=now")
    assert rev_parse(repo, doomed) is None


def test_a_bare_repository_made_again_at_the_same_path_is_read_afresh(
        repo: Path, tmp_path: Path) -> None:
    origin = tmp_path / "origin.git"
    sh(tmp_path, "clone", "-q", "--bare", str(repo), str(origin))
    assert rev_parse(origin, "refs/heads/main") == sh(repo, "rev-parse", "main")
    shutil.rmtree(origin)
    sh(repo, "commit", "-q", "--allow-empty", "-m", "newer")
    sh(tmp_path, "clone", "-q", "--bare", str(repo), str(origin))
    assert rev_parse(origin, "refs/heads/main") == sh(repo, "rev-parse", "main")


def test_a_shallow_clone_deepened_after_the_reader_started_shows_its_parents(
        repo: Path, tmp_path: Path) -> None:
    clone = tmp_path / "shallow"
    sh(tmp_path, "clone", "-q", "--depth", "1", f"file://{repo}", str(clone))
    assert rev_parse(clone, "HEAD^1") is None
    sh(clone, "fetch", "-q", "--unshallow")
    assert rev_parse(clone, "HEAD^1") == sh(repo, "rev-parse", "HEAD^1")


def test_objects_of_an_alternate_removed_after_the_reader_started_are_gone_for_it(
        repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "b").mkdir()
    borrower = small_repo(tmp_path / "b", monkeypatch, ())
    alternates = borrower / ".git" / "objects" / "info" / "alternates"
    alternates.write_text(f"{repo / '.git' / 'objects'}\n")
    commit = sh(repo, "rev-parse", "HEAD")
    assert rev_parse(borrower, commit) == commit
    alternates.unlink()
    assert rev_parse(borrower, commit) is None


def test_a_commit_pruned_in_an_alternate_store_is_gone_for_the_reader_too(
        repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "b").mkdir()
    borrower = small_repo(tmp_path / "b", monkeypatch, ())
    (borrower / ".git" / "objects" / "info" / "alternates").write_text(
        f"{repo / '.git' / 'objects'}\n")
    sh(repo, "commit", "-q", "--allow-empty", "-m", "soon unreachable")
    doomed = sh(repo, "rev-parse", "HEAD")
    sh(repo, "repack", "-a", "-d", "-q")
    assert rev_parse(borrower, doomed) == doomed
    sh(repo, "reset", "-q", "--hard", "HEAD~1")
    sh(repo, "reflog", "expire", "--expire=now", "--all")
    sh(repo, "repack", "-a", "-d", "-q")
    sh(repo, "prune", "--expire=now")
    assert rev_parse(borrower, doomed) is None


def test_a_batch_of_long_names_is_answered_without_filling_the_channel(repo: Path) -> None:
    """Breaker 30 R2: git echoes each missing name back; 256 names of 1 000 bytes filled
    both socket buffers and the reader was given up after its timeout."""
    head_of(repo)
    (first,) = reader_pids()
    names = [f"refs/heads/{n:04}-{'x' * 1000}" for n in range(300)]
    assert set(rev_parse_many(repo, [*names, "main"]).items()) == {
        *((name, None) for name in names), ("main", sh(repo, "rev-parse", "main"))}
    assert reader_pids() == [first]


def test_an_abbreviated_object_id_is_asked_of_a_process_of_its_own(repo: Path) -> None:
    """Breaker 30 F6: a long-lived process caches which objects exist for abbreviations."""
    short = sh(repo, "rev-parse", "--short=7", "HEAD")
    assert rev_parse(repo, short) == sh(repo, "rev-parse", "HEAD")
    assert rev_parse_many(repo, [short, "main"])[short] == sh(repo, "rev-parse", "HEAD")
    assert reader.open_readers() == 0


def test_a_process_keeps_a_bounded_number_of_readers(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started = []
    for n in range(MAX_READERS + 2):
        (tmp_path / str(n)).mkdir()
        folder = small_repo(tmp_path / str(n), monkeypatch)
        head_of(folder)
        started += reader_pids()
    assert reader.open_readers() == MAX_READERS
    for pid in set(started) - set(reader_pids()):  # the closed ones were waited for
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)


def test_an_old_reader_is_replaced_at_its_next_question(
        repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    head_of(repo)
    (first,) = reader_pids()
    monkeypatch.setattr(reader, "MAX_AGE_S", 0.0)
    assert head_of(repo) == sh(repo, "rev-parse", "HEAD")
    assert reader_pids() != [first] and reader.open_readers() == 1


def test_a_forked_child_starts_its_own_reader_and_leaves_its_parents_alone(
        repo: Path) -> None:
    head_of(repo)
    (parent_reader,) = reader_pids()
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the forked child
        ok = reader.open_readers() == 0 and head_of(repo) == sh(repo, "rev-parse", "HEAD")
        ok = ok and parent_reader not in reader_pids()
        os.write(write, b"1" if ok else b"0")
        os._exit(0)
    os.close(write)
    assert os.read(read, 1) == b"1"
    os.close(read)
    os.waitpid(child, 0)
    assert reader_pids() == [parent_reader] and head_of(repo) == sh(repo, "rev-parse", "HEAD")


def test_no_reader_outlives_the_process_that_started_it(repo: Path) -> None:
    script = ("import sys; from pathlib import Path; from maestro.git import head_of, reader;"
              "head_of(Path(sys.argv[1])); print(next(iter(reader._READERS.values())).proc.pid)")
    for how in ("exit", "kill"):
        code = script if how == "exit" else script + "; import os, signal, sys; " \
            "sys.stdout.flush(); os.kill(os.getpid(), signal.SIGKILL)"
        proc = subprocess.run([sys.executable, "-c", code, str(repo)], capture_output=True,
                              text=True, check=False)
        pid = int(proc.stdout.split()[0])
        assert not _alive_in(pid, repo), how


def _alive_in(pid: int, folder: Path) -> bool:
    """Whether ``pid`` is still a living process working in ``folder`` (a reused pid that
    works elsewhere is not it); waits a little for an orphan to see its EOF."""
    for _ in range(200):
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
            with open(f"/proc/{pid}/stat", "rb") as handle:
                zombie = handle.read().rsplit(b")", 1)[1].split()[0] == b"Z"
        except OSError:
            return False
        if zombie or Path(cwd) != folder.resolve():
            return False
        time.sleep(0.01)
    return True
