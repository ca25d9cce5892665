"""A short child's whole output comes back through memory files, as ``subprocess.run``
would give it, whatever its size, with nothing left open."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from maestro.process import capture

ENV = {"PATH": os.defpath, "LC_ALL": "C.UTF-8"}


def python(code: str) -> list[str]:
    return [sys.executable, "-I", "-c", code]


def test_both_streams_of_a_megabyte_each_come_back_whole(tmp_path: Path) -> None:
    code = ("import sys; sys.stdout.write('o' * 1_000_000); sys.stdout.flush(); "
            "sys.stderr.write('e' * 1_000_000)")
    proc = capture.run_bytes(python(code), tmp_path, ENV)
    assert (proc.returncode, len(proc.stdout), len(proc.stderr)) == (0, 1_000_000, 1_000_000)


def test_input_of_a_megabyte_reaches_the_child_while_it_writes_as_much() -> None:
    code = "import sys; data = sys.stdin.buffer.read(); sys.stdout.buffer.write(data[::-1])"
    given = bytes(range(256)) * 4096
    proc = capture.run_bytes(python(code), "/", ENV, given)
    assert proc.stdout == given[::-1]


def test_without_input_the_child_reads_end_of_file_at_once() -> None:
    proc = capture.run_bytes(python("import sys; print(repr(sys.stdin.read()))"), "/", ENV)
    assert proc.stdout.strip() == b"''"


def test_the_exit_status_is_returned_not_raised() -> None:
    proc = capture.run_bytes(python("import sys; sys.exit(3)"), "/", ENV)
    assert proc.returncode == 3


def test_the_child_runs_in_the_folder_with_exactly_the_environment_given(
        tmp_path: Path) -> None:
    code = "import os; print(os.getcwd()); print(sorted(k for k in os.environ if k != 'LC_CTYPE'))"
    proc = capture.run_text(python(code), tmp_path, {**ENV, "ONLY_THIS": "1"})
    cwd, names = proc.stdout.splitlines()
    assert Path(cwd) == tmp_path.resolve()
    assert names == str(sorted(["PATH", "LC_ALL", "ONLY_THIS"]))


def test_text_mode_replaces_bad_bytes_and_translates_newlines_as_subprocess_does() -> None:
    code = r"import sys; sys.stdout.buffer.write(b'a\r\nb\rc\xff\n')"
    proc = capture.run_text(python(code), "/", ENV)
    assert proc.stdout == "a\nb\nc\ufffd\n"


def test_a_program_that_cannot_start_raises_oserror() -> None:
    with pytest.raises(OSError):
        capture.run_bytes(["/nonexistent/program"], "/", ENV)


def test_no_file_descriptor_is_left_open() -> None:
    before = set(os.listdir("/proc/self/fd"))
    for _ in range(20):
        capture.run_bytes(python("print(1)"), "/", ENV, b"input")
    assert set(os.listdir("/proc/self/fd")) <= before
