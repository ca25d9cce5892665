"""What a new user meets first: init, finding the project, issue text, help, pipes."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from maestro.cli import build_parser
from maestro.operator.exposure import exposure_warning
from maestro.process.invocation import maestro_command
from tests.conftest import Sandbox


def maestro(cwd: Path, *args: str, stdin: str | None = None
            ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "maestro", *args], cwd=cwd, input=stdin,
                          capture_output=True, text=True, timeout=120, env=os.environ.copy())


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                          check=True).stdout.strip()


@pytest.fixture
def master_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", "-b", "master", str(repo)], check=True)
    return repo


def test_init_writes_the_branch_checked_out_as_the_base(master_repo: Path) -> None:
    maestro(master_repo, "init")
    assert 'base_branch = "master"' in (master_repo / "WORKFLOW.md").read_text()


def test_init_prefers_the_default_branch_origin_recorded(tmp_path: Path) -> None:
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "trunk", str(origin)], check=True)
    seed = tmp_path / "seed"
    subprocess.run(["git", "init", "-q", "-b", "trunk", str(seed)], check=True)
    git(seed, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty",
        "-m", "init")
    git(seed, "push", "-q", str(origin), "trunk")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(origin), str(clone)], check=True)
    git(clone, "checkout", "-q", "-b", "feature")
    maestro(clone, "init")
    assert 'base_branch = "trunk"' in (clone / "WORKFLOW.md").read_text()


def test_init_prints_the_next_steps(master_repo: Path) -> None:
    out = maestro(master_repo, "init").stdout
    assert "next steps:" in out and "maestro doctor" in out and "maestro run --once" in out


def test_the_files_trackers_lock_is_ignored_by_git(master_repo: Path) -> None:
    maestro(master_repo, "init")
    assert git(master_repo, "check-ignore", "issues/.maestro-tracker.lock") == \
        "issues/.maestro-tracker.lock"


def test_maestro_toml_is_found_from_a_subdirectory(sandbox: Sandbox) -> None:
    deep = sandbox.repo / "docs" / "deep"
    deep.mkdir(parents=True)
    proc = maestro(deep, "issue", "new", "--title", "From below")
    assert proc.returncode == 0, proc.stderr
    assert (sandbox.repo / "issues" / "DEMO-1.md").exists()


def test_status_outside_a_project_says_so(tmp_path: Path) -> None:
    proc = maestro(tmp_path, "status")
    assert proc.returncode == 2
    assert "not a maestro project" in proc.stderr and "maestro init" in proc.stderr


def test_a_global_option_works_after_the_subcommand(sandbox: Sandbox, tmp_path: Path) -> None:
    proc = maestro(tmp_path, "status", "--json", "--config", str(sandbox.repo / "maestro.toml"))
    assert proc.returncode == 0, proc.stderr


def test_issue_new_takes_body_as_the_description(sandbox: Sandbox) -> None:
    sandbox.maestro("issue", "new", "--title", "T", "--body", "the text", check=True)
    assert sandbox.issue("DEMO-1").description.strip() == "the text"


def test_issue_new_reads_the_body_from_standard_input(sandbox: Sandbox) -> None:
    proc = maestro(sandbox.repo, "issue", "new", "--title", "T", "--body-file", "-",
                   stdin="from stdin\n")
    assert proc.returncode == 0, proc.stderr
    assert sandbox.issue("DEMO-1").description.strip() == "from stdin"


def test_an_unreadable_body_file_is_bad_input(sandbox: Sandbox) -> None:
    proc = sandbox.maestro("issue", "new", "--title", "T", "--body-file", "missing.md")
    assert proc.returncode == 2 and "--body-file missing.md: cannot read" in proc.stderr


def _parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):
                found += _parsers(child)
    return found


def test_every_option_and_argument_has_help_text() -> None:
    missing = [f"{parser.prog} {action.dest}" for parser in _parsers(build_parser())
               for action in parser._actions
               if not isinstance(action, argparse._SubParsersAction) and not action.help]
    assert missing == []


def test_a_pipe_closed_early_ends_quietly(sandbox: Sandbox) -> None:
    sandbox.add_issue("DEMO-9", description="line\n" * 100_000)
    proc = subprocess.Popen([sys.executable, "-m", "maestro", "issue", "show", "DEMO-9"],
                            cwd=sandbox.repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline().startswith(b"DEMO-9")
    proc.stdout.close()  # what `| head -1` does after its line
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0
    assert err == ""


@pytest.mark.parametrize(("address", "warns"), [
    (None, False), ("127.0.0.1:8900", False), ("[::1]:8900", False), ("localhost:80", False),
    ("8900", False), ("0.0.0.0:8900", True), ("[::]:8900", True), ("192.168.1.5:8900", True),
])
def test_a_bind_beyond_loopback_warns(address: str | None, warns: bool) -> None:
    assert (exposure_warning(address) is not None) == warns


def test_printed_commands_name_maestro_when_it_is_on_path(tmp_path: Path) -> None:
    script = tmp_path / "bin" / "maestro"
    script.parent.mkdir()
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    assert maestro_command(str(script), path=str(script.parent)) == "maestro"


def test_printed_commands_name_the_venv_script_when_it_is_not_on_path(tmp_path: Path) -> None:
    script = tmp_path / ".venv" / "bin" / "maestro"
    script.parent.mkdir(parents=True)
    script.write_text("#!/bin/sh\n")
    assert maestro_command(str(script), path="/nonexistent") == str(script)


def test_printed_commands_use_the_module_when_run_as_one() -> None:
    assert maestro_command("/x/maestro/__main__.py").endswith(" -m maestro")
