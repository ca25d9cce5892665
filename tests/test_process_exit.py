"""maestro's own process entry leaves its heap to the OS at exit; a caller's does not."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

PROBE = """
import atexit, gc, sys
atexit.register(lambda: print("frozen at exit:", gc.get_freeze_count() > 0, flush=True))
sys.argv = ["maestro", "init", {path!r}]
from maestro.cli import main
main({argv})
"""


@pytest.mark.parametrize(("argv", "frozen"), [("", True), ("sys.argv[1:]", False)],
                         ids=["process entry", "called with argv"])
def test_only_the_process_entry_skips_the_heap_teardown(tmp_path: Path, argv: str,
                                                        frozen: bool) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path / "repo")], check=True)
    code = PROBE.format(path=str(tmp_path / "repo"), argv=argv)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    # atexit handlers still run after the freeze, and the command did its work
    assert f"frozen at exit: {frozen}" in proc.stdout
    assert (tmp_path / "repo" / "maestro.toml").is_file()


FORKED = """
import atexit, sys, threading
from maestro.process.exit import leave_forked

class Noisy:
    def __del__(self):
        print("module teardown", file=sys.stderr, flush=True)

HELD = Noisy()  # a module global: only the module teardown frees it
ready = threading.Event()

def late():
    ready.wait()
    sys.stderr.write("thread finished\\n")  # one write: the exit message may come between

threading.Thread(target=late).start()
atexit.register(lambda: print("atexit ran", file=sys.stderr, flush=True))
sys.stdout.write("buffered, not flushed")
ready.set()
leave_forked({code!r})
"""


@pytest.mark.parametrize(("code", "status", "message"), [
    (None, 0, []), (0, 0, []), (3, 3, []), (256 + 7, 7, []),
    ("no such lane", 1, ["no such lane"]),
])
def test_a_forked_lane_leaves_like_the_interpreter_without_its_module_teardown(
        code: object, status: int, message: list[str]) -> None:
    proc = subprocess.run([sys.executable, "-c", FORKED.format(code=code)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == status
    # threads joined, then atexit run, in the interpreter's order (the exit message is
    # printed while the thread may still run, as CPython's is); no module teardown
    # (HELD's __del__), and stdout's buffer still flushed
    lines = proc.stderr.splitlines()
    assert sorted(lines[:-1]) == sorted([*message, "thread finished"])
    assert lines[-1] == "atexit ran"
    assert proc.stdout == "buffered, not flushed"


CLOSED_STDOUT = """
import sys
from maestro.process.exit import leave_forked
{close}
leave_forked(0)
"""


@pytest.mark.parametrize("close", ["sys.stdout.close()", "sys.stdout = None"],
                         ids=["closed", "none"])
def test_a_closed_or_missing_stdout_is_no_failed_flush(close: str) -> None:
    proc = subprocess.run([sys.executable, "-c", CLOSED_STDOUT.format(close=close)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert (proc.returncode, proc.stderr) == (0, "")


INTERRUPTED = """
import sys, threading
from maestro.process.exit import leave_forked

def interrupt_the_wait():
    raise KeyboardInterrupt  # as a SIGTERM turned into SIGINT's handler would

threading._shutdown = interrupt_the_wait
leave_forked(3)
"""


def test_an_interrupt_while_waiting_for_threads_keeps_the_lanes_status() -> None:
    proc = subprocess.run([sys.executable, "-c", INTERRUPTED],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 3
    assert proc.stderr.startswith("Exception ignored while the lane exited: KeyboardInterrupt")
