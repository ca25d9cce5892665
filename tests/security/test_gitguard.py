"""maestro's own git never runs a program the repository's files name.

Each test plants one thing in a real repository, shows that plain git runs it (so the
plant is live), then runs the same operation through :mod:`maestro.git` and finds that it
did not run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from maestro.containment import gitguard
from maestro.containment.exec_path import maestros_path
from maestro.forges.local import LocalForge
from maestro.git import git
from tests.conftest import Sandbox

from .traps import make_trap, runs

IDENT = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
         "GIT_COMMITTER_EMAIL": "t@t"}


def plain(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False,
                          env={**os.environ, **IDENT, "GIT_TERMINAL_PROMPT": "0"}, timeout=60)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    origin, work = tmp_path / "origin.git", tmp_path / "work"
    plain(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    plain(tmp_path, "init", "-q", "-b", "main", str(work))
    (work / "a.txt").write_text("a\n")
    plain(work, "add", "-A")
    plain(work, "commit", "-qm", "init")
    plain(work, "remote", "add", "origin", str(origin))
    plain(work, "push", "-q", "origin", "main")
    return work


def test_a_planted_pre_push_hook_does_not_run_in_maestros_push(repo: Path,
                                                                tmp_path: Path) -> None:
    trap, log = make_trap(tmp_path / "trap")
    hook = repo / ".git" / "hooks" / "pre-push"
    hook.write_text(f"#!/bin/sh\nexec {trap}\n")
    hook.chmod(0o755)
    plain(repo, "push", "-q", "origin", "main:refs/heads/plain")
    assert len(runs(log)) == 1
    git(repo, "push", "--quiet", "origin", "main:refs/heads/guarded")
    assert len(runs(log)) == 1


def test_the_local_origins_own_hook_runs_as_server_policy_without_secrets(
        repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The origin is the forge's side, not the lane's: its pre-receive hook is its policy
    (and the fault tests' way to refuse a push), but it sees maestro's allow list only."""
    dump = tmp_path / "hook-env.txt"
    hook = tmp_path / "origin.git" / "hooks" / "pre-receive"
    hook.write_text(f"#!/bin/sh\nenv > {dump}\n")
    hook.chmod(0o755)
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_origin_hook")
    LocalForge(repo, "origin").push(repo, "guarded")
    assert dump.exists() and "ghp_origin_hook" not in dump.read_text()


def test_an_alternate_refs_command_planted_in_the_local_origin_does_not_run_in_maestros_push(
        repo: Path, tmp_path: Path) -> None:
    trap, log = make_trap(tmp_path / "trap")
    plain(tmp_path / "origin.git", "config", "core.alternateRefsCommand", str(trap))
    plain(repo, "push", "-q", "origin", "main:refs/heads/plain")
    before = len(runs(log))
    assert before
    LocalForge(repo, "origin").push(repo, "guarded")
    assert len(runs(log)) == before


def test_an_alternate_refs_command_planted_in_the_repository_does_not_run_in_maestros_fetch(
        repo: Path, tmp_path: Path) -> None:
    trap, log = make_trap(tmp_path / "trap")
    plain(tmp_path, "init", "-q", "--bare", str(tmp_path / "elsewhere.git"))
    (repo / ".git" / "objects" / "info" / "alternates").write_text(
        f"{tmp_path / 'elsewhere.git' / 'objects'}\n")
    plain(repo, "config", "core.alternateRefsCommand", str(trap))
    plain(tmp_path / "origin.git", "update-ref", "refs/heads/moved", "main")
    plain(repo, "fetch", "-q", "origin", "main")
    before = len(runs(log))
    assert before
    git(repo, "fetch", "--quiet", "origin", "moved")
    assert len(runs(log)) == before


def test_a_planted_fsmonitor_does_not_run_in_maestros_status(repo: Path,
                                                             tmp_path: Path) -> None:
    trap, log = make_trap(tmp_path / "trap")
    plain(repo, "config", "core.fsmonitor", str(trap))
    plain(repo, "status", "--porcelain")
    assert runs(log)
    before = len(runs(log))
    git(repo, "status", "--porcelain")
    assert len(runs(log)) == before


def test_a_planted_ssh_command_does_not_run_in_maestros_fetch(repo: Path,
                                                              tmp_path: Path) -> None:
    trap, log = make_trap(tmp_path / "trap")
    plain(repo, "config", "core.sshCommand", str(trap))
    url = "ssh://git@host.invalid/x.git"
    plain(repo, "ls-remote", url)
    assert runs(log)
    before = len(runs(log))
    git(repo, "ls-remote", url, check=False)
    assert len(runs(log)) == before


class _AuthRequired(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="x"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def auth_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _AuthRequired)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/x.git"
    server.shutdown()
    server.server_close()


def test_a_planted_credential_helper_does_not_run_in_maestros_fetch(
        repo: Path, tmp_path: Path, auth_server: str) -> None:
    trap, log = make_trap(tmp_path / "trap")
    plain(repo, "config", "credential.helper", f"!{trap}")
    plain(repo, "config", f"credential.{auth_server}.helper", f"!{trap}")
    plain(repo, "ls-remote", auth_server)
    assert runs(log)
    before = len(runs(log))
    git(repo, "ls-remote", auth_server, check=False)
    assert len(runs(log)) == before


def test_a_planted_filter_driver_does_not_run_in_maestros_checkout(
        repo: Path, tmp_path: Path) -> None:
    trap, log = make_trap(tmp_path / "trap")
    (repo / ".gitattributes").write_text("*.txt filter=trapf\n")
    plain(repo, "add", ".gitattributes")
    plain(repo, "commit", "-qm", "attributes")
    for key in ("clean", "smudge"):
        plain(repo, "config", f"filter.trapf.{key}", f"{trap} filter")
    plain(repo, "config", "filter.trapf.required", "true")
    plain(repo, "worktree", "add", "-q", str(tmp_path / "plain"), "-b", "plain")
    assert runs(log)
    before = len(runs(log))
    git(repo, "worktree", "add", "-q", str(tmp_path / "guarded"), "-b", "guarded")
    assert len(runs(log)) == before
    assert (tmp_path / "guarded" / "a.txt").read_text() == "a\n"


def test_a_nested_repositorys_filter_driver_does_not_run_in_maestros_status(
        repo: Path, tmp_path: Path) -> None:
    trap, log = make_trap(tmp_path / "trap")
    nested = repo / "sub"
    plain(repo, "init", "-q", str(nested))
    plain(nested, "config", "filter.trapf.clean", f"{trap} filter")
    (nested / ".gitattributes").write_text("* filter=trapf\n")
    (nested / "f.txt").write_text("f\n")
    plain(nested, "add", "-A")
    plain(nested, "commit", "-qm", "nested")
    plain(repo, "add", "sub")
    plain(repo, "commit", "-qm", "a gitlink the agent committed")
    (nested / "f.txt").touch()
    plain(repo, "status", "--porcelain")
    assert runs(log)  # plain git goes into the nested repository and runs its driver
    before = len(runs(log))
    (nested / "f.txt").touch()
    for args in (["status", "--porcelain", "--untracked-files=no"], ["diff", "--name-only"],
                 ["diff", "--name-only", "HEAD"]):
        git(repo, *args)
    assert len(runs(log)) == before


DRIVER_CASES = [
    (["filter.lfs.smudge"], [("filter.lfs.clean", ""), ("filter.lfs.smudge", ""),
                             ("filter.lfs.process", ""), ("filter.lfs.required", "false")]),
    (["diff.pdf.textconv", "diff.pdf.command"], [("diff.pdf.textconv", ""),
                                                 ("diff.pdf.command", "")]),
    (["merge.ours.driver"], [("merge.ours.driver", "exit 1")]),
    (["credential.https://example.com.helper"], [("credential.https://example.com.helper", "")]),
    (["Filter.Mixed.Case.Smudge"], [("filter.Mixed.Case.clean", ""),
                                    ("filter.Mixed.Case.smudge", ""),
                                    ("filter.Mixed.Case.process", ""),
                                    ("filter.Mixed.Case.required", "false")]),
    (["remote.origin.receivepack", "remote.origin.uploadpack"],
     [("remote.origin.receivepack", "git-receive-pack"),
      ("remote.origin.uploadpack", "git-upload-pack")]),
    (["user.name", "core.bare", "remote.origin.url", "diff.pdf.binary"], []),
]


@pytest.mark.parametrize(("keys", "expected"), DRIVER_CASES)
def test_driver_overrides_disarm_each_program_naming_key(
        keys: list[str], expected: list[tuple[str, str]]) -> None:
    assert gitguard.driver_overrides(keys) == expected


def test_maestros_git_environment_holds_no_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_guard")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws_guard")
    env = gitguard.git_env()
    assert "GITHUB_TOKEN" not in env and "AWS_SECRET_ACCESS_KEY" not in env
    assert env["GIT_CONFIG_NOSYSTEM"] == "1" and env["GIT_CONFIG_GLOBAL"] == os.devnull


def test_only_file_http_and_ssh_transports_are_allowed(repo: Path) -> None:
    with pytest.raises(Exception, match="transport 'ext' not allowed"):
        git(repo, "ls-remote", "ext::sh -c true")


def test_branch_tracking_entries_do_not_count_as_a_control_file_change(
        repo: Path, tmp_path: Path) -> None:
    from maestro.lanes.confinement.tamper import changes, control_roots, fingerprint

    roots = control_roots(repo)
    before = fingerprint(roots, repo)
    plain(repo, "branch", "--track", "other", "origin/main")
    plain(repo, "branch", "-D", "other")
    plain(repo, "config", "branch.main.remote", "origin")
    assert changes(before, fingerprint(roots, repo)) == []
    plain(repo, "config", "core.fsmonitor", "true")
    assert changes(before, fingerprint(roots, repo)) == [".git/config"]


def test_maestros_own_branch_from_a_remote_ref_writes_no_config(repo: Path) -> None:
    config = (repo / ".git" / "config").read_text()
    plain(repo, "fetch", "-q", "origin")
    git(repo, "branch", "lane", "refs/remotes/origin/main")
    assert (repo / ".git" / "config").read_text() == config


@pytest.mark.slow
def test_no_git_process_of_a_lane_sees_a_secret(sandbox: Sandbox, tmp_path: Path,
                                                 request: pytest.FixtureRequest) -> None:
    # git is an ordinary, dumpable program: a same-user agent can read the environment of
    # every git process maestro starts, so none may hold a token (the identity lookup too).
    # maestro takes no program from a folder an agent can write (the home, /tmp: see
    # exec_path.maestros_path), so the observing shim sits in the project's checkout
    shim, seen = Path(__file__).resolve().parent / f".shim-{os.getpid()}", tmp_path / "seen"
    if maestros_path(str(shim)) != str(shim):
        pytest.skip(f"this checkout lies in a folder an agent can write ({shim.parent}): "
                    "maestro takes no git from there, so no shim can watch its git calls")
    shim.mkdir()
    request.addfinalizer(lambda: shutil.rmtree(shim, ignore_errors=True))
    real = shutil.which("git")
    assert real is not None
    (shim / "git").write_text(f"#!/bin/sh\nenv >> {seen}\nexec {real} \"$@\"\n")
    (shim / "git").chmod(0o755)
    sandbox.add_issue("GS-1")
    sandbox.lane("GS-1", env={"PATH": f"{shim}:{os.environ['PATH']}",
                              "LINEAR_API_KEY": "lin_api_guard", "GITHUB_TOKEN": "ghp_guard",
                              "AWS_SECRET_ACCESS_KEY": "aws_guard"})
    assert sandbox.outcome("GS-1") == "waiting"
    environments = seen.read_text()
    assert environments.count("\nPATH=") > 10  # the shim saw maestro's git calls
    for secret in ("lin_api_guard", "ghp_guard", "aws_guard"):
        assert secret not in environments


def test_a_replace_ref_the_agent_planted_does_not_change_what_maestros_git_reads(
        repo: Path) -> None:
    # refs/replace/ lives in the shared git dir: a replacement would show maestro's own
    # checks another tree than the commit it pushes.
    real = git(repo, "rev-parse", "HEAD")
    (repo / "a.txt").unlink()
    plain(repo, "commit", "-qam", "everything deleted")
    decoy = plain(repo, "rev-parse", "HEAD").stdout.strip()
    plain(repo, "reset", "-q", "--hard", real)
    plain(repo, "replace", real, decoy)
    assert "a.txt" not in plain(repo, "ls-tree", "--name-only", "HEAD").stdout  # git is fooled
    assert git(repo, "ls-tree", "--name-only", "HEAD").split() == ["a.txt"]  # maestro's is not


def test_a_graft_file_the_agent_planted_does_not_change_what_maestros_git_reads(
        repo: Path) -> None:
    # info/grafts (deprecated, still read by git) gives a commit other parents; with them
    # the lane's own commits (``base..HEAD``) would hide a commit between.
    plain(repo, "commit", "-q", "--allow-empty", "-m", "second")
    plain(repo, "commit", "-q", "--allow-empty", "-m", "third")
    head, first = git(repo, "rev-parse", "HEAD"), git(repo, "rev-parse", "HEAD~2")
    (repo / ".git" / "info").mkdir(exist_ok=True)
    (repo / ".git" / "info" / "grafts").write_text(f"{head} {first}\n")
    fooled = plain(repo, "-c", "advice.graftFileDeprecated=false", "rev-list", "--count",
                   f"{first}..HEAD")
    assert fooled.stdout.strip() == "1"
    assert git(repo, "rev-list", "--count", f"{first}..HEAD") == "2"


def test_the_git_environment_follows_a_change_of_the_process_environment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GIT_AUTHOR_NAME", raising=False)
    first = gitguard.base_env()
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Someone Else")
    assert gitguard.base_env()["GIT_AUTHOR_NAME"] == "Someone Else"
    monkeypatch.delenv("GIT_AUTHOR_NAME")
    assert gitguard.base_env() == first


def test_the_git_environment_follows_the_operator_identity(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A warm lane forgets the identity its zygote read and reads its own."""
    monkeypatch.delenv("GIT_COMMITTER_EMAIL", raising=False)
    for email in ("one@example.com", "two@example.com"):
        monkeypatch.setattr(gitguard, "operator_identity",
                            lambda email=email: {"name": "Op", "email": email})
        assert gitguard.base_env()["GIT_COMMITTER_EMAIL"] == email


def test_each_git_environment_is_a_dict_of_its_own() -> None:
    env = gitguard.base_env()
    env["GIT_DIR"] = "/elsewhere"
    assert "GIT_DIR" not in gitguard.base_env()


def test_maestros_git_speaks_the_c_locale_whatever_the_operators(
        repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """git's words maestro relays are in one language, and git loads no catalogue."""
    monkeypatch.setenv("LANG", "de_DE.UTF-8")
    monkeypatch.setenv("LC_ALL", "de_DE.UTF-8")
    monkeypatch.setenv("LC_MESSAGES", "de_DE.UTF-8")
    env = gitguard.git_env(repo)
    assert env["LC_ALL"] == "C"
    shown = subprocess.run(["git", "rev-parse", "--verify", "no-such-ref"], cwd=repo, env=env,
                           capture_output=True, text=True, check=False)
    assert "fatal: Needed a single revision" in shown.stderr


def test_a_non_ascii_path_reads_the_same_in_maestros_git(repo: Path) -> None:
    name = "größe ✓.txt"
    (repo / name).write_text("x\n")
    assert git(repo, "ls-files", "-z", "--others").rstrip("\0") == name
