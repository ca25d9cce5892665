"""Nothing an agent, a hook or a validation command starts outlives it, ``setsid`` included.

Each test starts a real process tree in which one program leaves its session (``setsid``,
as a "daemonised" test server or a hostile agent's background job would) and writes its
pid; the test then checks that pid is gone."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from maestro.containment import lineage, reaper
from maestro.containment.shell import run_shell
from maestro.lanes.validation.commands import run_commands
from maestro.lanes.worktree.hooks import run_script

pytestmark = pytest.mark.skipif(not reaper.supported(), reason="the reaper needs Linux /proc")

#: A shell line that starts a long sleep in a new session and writes its pid to $1.
ESCAPE = "setsid sh -c 'echo $$ > \"$0\"; exec sleep 300' {pidfile} </dev/null >/dev/null 2>&1 &"


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return False
    return state[state.rfind(b")") + 2:][:1] != b"Z"


def escapee(pidfile: Path) -> int:
    for _ in range(500):
        if pidfile.exists() and pidfile.read_text().strip():
            return int(pidfile.read_text())
        time.sleep(0.01)
    raise AssertionError(f"the escaping process never wrote {pidfile}")


def gone(pid: int) -> bool:
    for _ in range(500):
        if not alive(pid):
            return True
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)  # do not leave it behind for the next test
    return False


def test_a_program_that_left_the_session_ends_with_its_supervised_parent(
        tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    script = ESCAPE.format(pidfile=pidfile) + f" while [ ! -s {pidfile} ]; do :; done"
    proc = subprocess.run(reaper.wrap(["/bin/sh", "-c", script]), check=False, timeout=60)
    assert proc.returncode == 0
    assert gone(escapee(pidfile))


def test_a_supervisor_whose_caller_died_before_it_armed_runs_nothing(tmp_path: Path) -> None:
    """The caller's death before the supervisor asks for a death signal is seen as a parent
    that is not the one :func:`reaper.wrap` named (the orphan went to a subreaper or init),
    so no program runs unwatched."""
    marker = tmp_path / "ran"
    argv = reaper.wrap(["/bin/sh", "-c", f"touch {marker}"])
    named = argv.index("--parent") + 1
    argv[named] = str(os.getpid() + 1_000_000)  # not this test's pid: a caller that is gone
    proc = subprocess.run(argv, check=False, timeout=60)
    assert proc.returncode == reaper.CANNOT_EXEC
    assert not marker.exists()


def test_a_supervised_program_cannot_write_its_supervisors_memory() -> None:
    """Breaker 17: through ``/proc/<supervisor>/mem`` a same-user agent rewrote the command
    line that marks its supervisor, and the operator API took its writes for a person's."""
    if shutil.which("setpriv") is None and os.geteuid() == 0:
        pytest.skip("running as root, and setpriv (util-linux) is not installed to drop "
                    "capabilities")
    code = ("import os\ntry:\n    open(f'/proc/{os.getppid()}/mem', 'r+b').close()\n"
            "    print('opened')\nexcept OSError:\n    print('refused')\n")
    argv = reaper.wrap([sys.executable, "-c", code])
    if os.geteuid() == 0:  # root keeps CAP_SYS_PTRACE: drop it, as an agent has none
        argv = ["setpriv", "--inh-caps=-all", "--bounding-set=-all", "--", *argv]
    said = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=60)
    assert said.stdout.strip() == "refused"


def test_a_supervisor_started_by_pid_1_runs_its_program(tmp_path: Path) -> None:
    """Breaker 17: a lane that is pid 1 of its namespace (a container's entrypoint) names
    itself as the parent; init's adoption is no sign of death then."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) is not installed")
    marker = tmp_path / "ran"
    code = ("import subprocess, sys\nfrom maestro.containment import reaper\n"
            f"argv = reaper.wrap(['/bin/sh', '-c', 'touch {marker}'])\n"
            "sys.exit(subprocess.run(argv).returncode)")
    done = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", sys.executable, "-c",
                           code], capture_output=True, text=True, check=False, timeout=60)
    if done.returncode != 0 and "unshare" in done.stderr:
        pytest.skip(f"cannot make a pid namespace here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    assert marker.exists()


def test_a_supervisors_issue_is_known_to_a_reader_without_privileges() -> None:
    """Breaker 18, F4: the supervisor is not dumpable, so its environment is closed to its
    user; the issue it runs for is in its command line for the operator API's refusals."""
    if shutil.which("setpriv") is None and os.geteuid() == 0:
        pytest.skip("running as root, and setpriv (util-linux) is not installed")
    env = {"PATH": os.environ.get("PATH", os.defpath), "MAESTRO_ISSUE": "ABC-7"}
    supervised = subprocess.Popen(reaper.wrap(["sleep", "30"], env), env=env)
    try:
        read = [sys.executable, "-c", "import sys\nfrom maestro.containment import lineage\n"
                f"print(lineage.issue_of({supervised.pid}))"]
        if os.geteuid() == 0:
            read = ["setpriv", "--inh-caps=-all", "--bounding-set=-all", "--", *read]
        said = subprocess.run(read, capture_output=True, text=True, check=True, timeout=60)
    finally:
        reaper.kill_tree(supervised.pid)
        supervised.wait()
    assert said.stdout.strip() == "ABC-7"


def test_what_wrap_starts_is_known_as_a_supervisor() -> None:
    """The operator API refuses writes from below a supervisor: it must know each one."""
    assert lineage.is_supervisor(reaper.wrap(["/bin/sh", "-c", "true"]))


@pytest.mark.parametrize(("script", "returncode"), [
    ("exit 3", 3),
    ("kill -TERM $$", -signal.SIGTERM),
    ("kill -KILL $$", -signal.SIGKILL),
])
def test_the_supervisor_exits_as_its_child_did(script: str, returncode: int) -> None:
    proc = subprocess.run(reaper.wrap(["/bin/sh", "-c", script]), capture_output=True,
                          check=False, timeout=60)
    assert proc.returncode == returncode
    assert proc.stderr == b""


def test_output_passes_through_the_supervisor() -> None:
    proc = subprocess.run(reaper.wrap(["/bin/sh", "-c", "echo out; echo err >&2"]),
                          capture_output=True, text=True, check=False, timeout=60)
    assert (proc.stdout, proc.stderr) == ("out\n", "err\n")


def test_a_program_that_cannot_be_found_is_not_wrapped() -> None:
    assert reaper.wrap(["no-such-program-here", "x"]) == ["no-such-program-here", "x"]


def test_kill_tree_ends_a_supervised_tree_and_what_left_it(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    proc = subprocess.Popen(reaper.wrap(["/bin/sh", "-c",
                                         ESCAPE.format(pidfile=pidfile) + " sleep 300"]),
                            start_new_session=True)
    pid = escapee(pidfile)
    reaper.kill_tree(proc.pid)
    assert proc.wait(timeout=30) == -signal.SIGKILL
    assert gone(pid)


def test_sigterm_to_the_supervisor_ends_the_whole_tree(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    proc = subprocess.Popen(reaper.wrap(["/bin/sh", "-c",
                                         ESCAPE.format(pidfile=pidfile) + " sleep 300"]))
    pid = escapee(pidfile)
    proc.terminate()
    assert proc.wait(timeout=30) == -signal.SIGTERM
    assert gone(pid)


def test_the_tree_ends_when_the_process_that_started_it_is_killed(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    starter = (
        "import subprocess, sys, time\n"
        "from maestro.containment import reaper\n"
        f"subprocess.Popen(reaper.wrap(['/bin/sh', '-c', {ESCAPE.format(pidfile=pidfile)!r}"
        " + ' sleep 300']))\n"
        "time.sleep(300)\n")
    lane = subprocess.Popen([sys.executable, "-c", starter])
    pid = escapee(pidfile)
    lane.kill()
    lane.wait(timeout=30)
    assert gone(pid)


def test_a_hook_that_times_out_leaves_nothing_running(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    code, timed_out, _ = run_script(ESCAPE.format(pidfile=pidfile) + " sleep 300", tmp_path,
                                    {"PATH": os.environ["PATH"]}, timeout_s=1.0)
    assert (code, timed_out) == (124, True)
    assert gone(escapee(pidfile))


def test_a_validation_command_leaves_nothing_running(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    script = ESCAPE.format(pidfile=pidfile) + f" while [ ! -s {pidfile} ]; do :; done; echo ok"
    code, timed_out, output = run_shell(script, tmp_path, 60, {"PATH": os.environ["PATH"]})
    assert (code, timed_out, output) == (0, False, "ok\n")
    assert gone(escapee(pidfile))


def test_a_validation_command_that_times_out_leaves_nothing_running(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    passed, records = run_commands(["echo started; " + ESCAPE.format(pidfile=pidfile)
                                    + " sleep 300"], tmp_path, 1.0, {"PATH": os.environ["PATH"]})
    assert not passed
    assert records[0]["exit_code"] == 124
    assert records[0]["output_tail"] == "started\ntimed out after 1s"
    assert gone(escapee(pidfile))


LANE_PROCESS = """
import sys
from pathlib import Path
from maestro.containment import reaper
from maestro.containment.shell import run_shell
reaper.adopt_orphans()
script = sys.argv[1]
code, _, output = run_shell(script, Path(sys.argv[2]), 60, {"PATH": "/usr/bin:/bin"})
print(code, flush=True)
"""


def test_a_program_that_kills_its_supervisor_still_leaves_nothing_running(
        tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    script = (ESCAPE.format(pidfile=pidfile) + f" while [ ! -s {pidfile} ]; do :; done;"
              " kill -9 $PPID; sleep 300")
    lane = subprocess.run([sys.executable, "-c", LANE_PROCESS, script, str(tmp_path)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert lane.stdout.strip() == "-9"
    assert gone(escapee(pidfile))


CHILDLESS = """
import os, subprocess, sys
from maestro.containment import reaper

def every_process():
    raise AssertionError("read every process of the machine")

real, reaper._parents = reaper._parents, every_process
reaper.supervised(12345)
print(reaper.has_children(), reaper.orphans(), sorted(reaper._SUPERVISED))
reaper.kill_descendants(os.getpid())
child = subprocess.Popen(["sleep", "300"])
reaper._parents = real
print(reaper.has_children())
reaper.kill_descendants(os.getpid())
print(reaper.descendants(os.getpid()), child.wait(timeout=30) in (0, -9))
"""


def test_a_process_without_children_is_answered_without_reading_every_process() -> None:
    proc = subprocess.run([sys.executable, "-c", CHILDLESS], capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    # childless: no orphan, no supervisor left, nothing to kill, and /proc never walked;
    # with a child the walk is back and the child is killed
    assert proc.stdout.splitlines() == ["False [] []", "True", "[] True"]
