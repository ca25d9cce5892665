"""Validation in the lane tests the commit (the agent's untracked paths set aside, tracked
changes refused, judged without the agent's index), and the local forge's check always runs
on a clean checkout of its own."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import Sandbox

pytestmark = pytest.mark.slow

VALIDATION = 'validation_commands = ["python3 -m unittest -q test_hello"]'


def counting_validation(sandbox: Sandbox, tmp_path: Path) -> Path:
    """Make the validation command log where it ran, one line per run; return the log."""
    count = tmp_path / "runs.txt"
    sandbox.edit_workflow(VALIDATION, f'validation_commands = ["pwd >> {count}"]')
    return count


def test_the_forge_check_runs_in_its_own_checkout_after_the_lanes_run(
        sandbox: Sandbox, tmp_path: Path) -> None:
    count = counting_validation(sandbox, tmp_path)
    sandbox.add_issue("VSC-1", script="""
        steps:
          - write: {path: a.txt, content: a}
          - commit: a
          - handoff: done
        """)
    sandbox.lane("VSC-1")
    assert sandbox.outcome("VSC-1") == "waiting"
    places = [Path(p).name for p in count.read_text().splitlines()]
    assert places[0] == "VSC-1" and len(places) == 2 and places[1] != "VSC-1"


def test_a_change_hidden_from_git_status_is_an_uncommitted_change(sandbox: Sandbox) -> None:
    sandbox.add_issue("VSC-2", script="""
        steps:
          - write: {path: a.txt, content: "committed"}
          - commit: a
          - open_pr: {}
          - run: git update-index --skip-worktree a.txt
          - write: {path: a.txt, content: "what only the worktree has"}
          - handoff: done
        """)
    sandbox.lane("VSC-2")
    result = sandbox.lane_file("VSC-2", "result.json")
    assert result["error_class"] == "uncommitted_changes" and "'a.txt'" in result["reason"]
    assert sandbox.lane_file("VSC-2", "pr.json") is None


FORGE_INDEX = r"""
import hashlib, os, struct, subprocess
# Give hello.py's entry (still the committed blob) the worktree file's stat data and fix the
# index checksum: git then trusts the entry and reports the file unchanged.
index = subprocess.run(["git", "rev-parse", "--git-path", "index"], capture_output=True,
                       text=True, check=True).stdout.strip()
data = bytearray(open(index, "rb").read())
_, version, count = struct.unpack(">4sII", data[:12])
offset = 12
for _ in range(count):
    flags = struct.unpack(">H", data[offset + 60:offset + 62])[0]
    extra = 2 if version == 3 and flags & 0x4000 else 0
    start = offset + 62 + extra
    end = data.index(b"\0", start)
    name = data[start:end].decode()
    if name == "hello.py":
        info = os.stat(name)
        struct.pack_into(">IIII", data, offset, int(info.st_ctime), info.st_ctime_ns % 10**9,
                         int(info.st_mtime), info.st_mtime_ns % 10**9)
        struct.pack_into(">II", data, offset + 16, info.st_dev & 0xFFFFFFFF,
                         info.st_ino & 0xFFFFFFFF)
        struct.pack_into(">I", data, offset + 36, info.st_size & 0xFFFFFFFF)
    offset += (62 + extra + len(name) + 8) & ~7
data[-20:] = hashlib.sha1(bytes(data[:-20])).digest()
open(index + ".new", "wb").write(data)
os.replace(index + ".new", index)
"""


def test_an_index_entry_forged_to_hide_a_change_does_not_hide_it(sandbox: Sandbox) -> None:
    """The agent owns its worktree's index; maestro judges the files with one of its own."""
    script = sandbox.root / "forge_index.py"
    script.write_text(FORGE_INDEX)
    sandbox.add_issue("VSC-3", script=f"""
        steps:
          - write: {{path: hello.py, content: "def greet(name):\\n    return 'bye'\\n"}}
          - commit: break greet
          - write: {{path: hello.py, content: "def greet(name):\\n    return f'hello, {{name}}'\\n"}}
          - sleep: 1.2
          - run: python3 {script}
          - open_pr: {{title: hidden}}
        """)  # noqa: E501
    sandbox.lane("VSC-3")
    worktree = sandbox.repo / ".worktrees" / "VSC-3"
    answers = sandbox.tool_answers("VSC-3", "lane_open_pr")
    assert answers and answers[0]["ok"] is False
    assert "'hello.py'" in str(answers[0]["result"])
    assert sandbox.origin_file("hello.py", "maestro/vsc-3") is None
    assert subprocess.run(["git", "diff-files", "--quiet"], cwd=worktree).returncode == 0, \
        "the forged entry does hide the change from git's own look"


def test_an_empty_folder_the_code_needs_is_not_there_when_validation_runs(
        sandbox: Sandbox) -> None:
    """git keeps no empty folder: a clean checkout will not have it, so validation does not
    either."""
    sandbox.edit_workflow(VALIDATION, 'validation_commands = ["test -d reports"]')
    sandbox.add_issue("VSC-4", script="""
        steps:
          - write: {path: a.txt, content: a}
          - commit: a
          - run: mkdir reports
          - open_pr: {title: a}
        """)
    sandbox.lane("VSC-4")
    answers = sandbox.tool_answers("VSC-4", "lane_open_pr")
    assert answers and answers[0]["ok"] is False and "validation failed" in str(
        answers[0]["result"])
    assert (sandbox.repo / ".worktrees" / "VSC-4" / "reports").is_dir()  # put back


def test_an_untracked_file_named_by_whitespace_alone_is_set_aside_too(
        sandbox: Sandbox) -> None:
    sandbox.edit_workflow(VALIDATION, "validation_commands = [\"test ! -e ' '\"]")
    sandbox.add_issue("VSC-5", script="""
        steps:
          - write: {path: a.txt, content: a}
          - commit: a
          - run: "echo secret > ' '"
          - open_pr: {title: a}
        """)
    sandbox.lane("VSC-5")
    answers = sandbox.tool_answers("VSC-5", "lane_open_pr")
    assert answers and answers[0]["ok"] is True
    assert (sandbox.repo / ".worktrees" / "VSC-5" / " ").read_text() == "secret\n"


def test_a_committed_link_to_the_operators_files_is_refused_before_the_push(
        sandbox: Sandbox, tmp_path: Path) -> None:
    """Validation in the lane reads the link's target on this machine; a checkout elsewhere
    would read other files, or none: the PR tool refuses, naming the link."""
    secret = tmp_path / "operator-notes.txt"
    secret.write_text("the operator's own file\n")
    sandbox.add_issue("VSC-6", script=f"""
        steps:
          - run: ln -s {secret} notes.txt && git add notes.txt && git commit -qm notes
          - open_pr: {{title: notes}}
        """)
    sandbox.lane("VSC-6")
    answers = sandbox.tool_answers("VSC-6", "lane_open_pr")
    assert answers and answers[0]["ok"] is False
    assert "symbolic link 'notes.txt' points outside the repository" in str(
        answers[0]["result"])
    assert sandbox.origin_file("notes.txt", "maestro/vsc-6") is None


def test_a_nested_repository_committed_as_a_bare_submodule_entry_fails_the_attempt(
        sandbox: Sandbox) -> None:
    """The lane has the nested repository's files on disk; a clean checkout gets an empty
    folder. Committed after the PR tool's check, it fails the attempt at the validate
    phase, and the PR's head stays the one validated."""
    sandbox.add_issue("VSC-7", script="""
        steps:
          - write: {path: a.txt, content: a}
          - commit: a
          - open_pr: {title: a}
          - run: >-
              mkdir vendor && git -C vendor init -q &&
              git -C vendor commit -q --allow-empty -m x &&
              git add vendor && git commit -qm vendor
          - handoff: done
        """)
    sandbox.lane("VSC-7")
    result = sandbox.lane_file("VSC-7", "result.json")
    assert result["error_class"] == "unreproducible_commit", result
    assert "submodule entry 'vendor'" in result["reason"]
    assert sandbox.issue("VSC-7").state != "In Review"
