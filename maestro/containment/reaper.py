"""Nothing an agent, a hook or a validation command starts outlives it.

Killing a child's process group is not enough: a program can leave the group with
``setsid`` (a "daemonised" test server, a hostile agent's background pusher) and go on
running with the lane's worktree after the lane has moved on. So every such child runs under
this module as a small supervisor (Linux):

* the supervisor makes itself a *child subreaper* (``PR_SET_CHILD_SUBREAPER``, prctl(2)):
  whatever its descendants orphan, however often they fork or call ``setsid``, is re-parented
  to it instead of to init, so the whole tree stays findable from its pid through
  ``/proc/<pid>/stat``;
* when the child exits, or the supervisor gets SIGTERM/SIGINT/SIGHUP (also sent to it when
  the lane process dies, ``PR_SET_PDEATHSIG``), it kills every descendant it has left and
  exits with the child's status (re-raising the child's signal), so callers see the same
  exit as before;
* callers that kill (a timeout, a stalled agent) use :func:`kill_tree`, which kills the
  descendants first and the supervisor last, while it can still adopt orphans;
* a program that kills its own supervisor (same user, ``kill -9``) leaves its tree to the
  next subreaper up: the lane command makes itself one (:func:`adopt_orphans`) and sweeps
  what it adopted after every supervised run and agent session (:func:`sweep_orphans`).

The supervisor is this file run by path with ``python -I -S`` (the standard library and,
after it on ``sys.path``, this folder for :mod:`~maestro.containment.prctl`), so no module
from the agent's worktree can be imported into it, and it costs one bare interpreter start.
Elsewhere than Linux, :func:`wrap` returns the command unchanged.
"""

from __future__ import annotations

import os
import sys
import time

# The supervisor starts once per agent session and validation command, so it imports only
# what it runs: not ``signal.py`` (its enums cost about 10 ms of a 35 ms start; ``_signal``
# is the same functions and numbers), ``contextlib`` or ``collections.abc`` (annotations).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

if __package__:
    import signal

    from maestro.containment.prctl import (
        PR_SET_CHILD_SUBREAPER,
        PR_SET_DUMPABLE,
        PR_SET_PDEATHSIG,
        prctl,
    )
else:  # the supervisor, run by path under ``python -I -S``: this folder, after the stdlib
    import _signal as signal  # type: ignore[no-redef]

    sys.path.append(os.path.dirname(os.path.abspath(__file__)))
    from prctl import (  # type: ignore[no-redef]
        PR_SET_CHILD_SUBREAPER,
        PR_SET_DUMPABLE,
        PR_SET_PDEATHSIG,
        prctl,
    )

#: Rounds of "find the descendants, kill them" before giving up on a tree that keeps forking.
KILL_ROUNDS = 200

#: Exit status of a supervisor whose child could not be started (as a shell's).
CANNOT_EXEC = 127


def supported() -> bool:
    """Whether this machine can supervise (Linux ``/proc``)."""
    return sys.platform.startswith("linux") and os.path.isdir("/proc/self")


def _parents() -> dict[int, int]:
    """``{pid: parent pid}`` of every live (not zombie) process that can be read."""
    found: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:  # os calls: a file object per process doubled the scan (3.1 against 1.8 ms)
            fd = os.open(f"/proc/{entry}/stat", os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            stat = os.read(fd, 4096)
        except OSError:
            continue
        finally:
            os.close(fd)
        fields = stat[stat.rfind(b")") + 2:].split()
        if len(fields) > 1 and fields[0] != b"Z":
            found[int(entry)] = int(fields[1])
    return found


def has_children() -> bool:
    """Whether this process has a child, living or exited and not yet waited for; cheap
    (one ``waitid``, nothing consumed) where :func:`_parents` reads every process of the
    machine. A process without a child has no descendant at all: every descendant's parent
    is a child of ours or one of theirs, and an orphan below a subreaper is re-parented to
    it (becoming its child) before its parent's exit can be waited for."""
    try:
        os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return False
    return True


def descendants(root: int) -> list[int]:
    """Every live process below ``root``, parents before children."""
    children: dict[int, list[int]] = {}
    for pid, parent in _parents().items():
        children.setdefault(parent, []).append(pid)
    order: list[int] = []
    queue = list(children.get(root, []))
    while queue:
        pid = queue.pop()
        order.append(pid)
        queue.extend(children.get(pid, []))
    return order


def _reap() -> None:
    """Collect our own dead children (the supervisor adopts them as subreaper)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def kill_descendants(root: int) -> None:
    """SIGKILL everything below ``root`` until nothing is left (bounded): a process forked
    between two looks is found by the next one, re-parented to ``root`` if ``root`` is a
    subreaper."""
    for _ in range(KILL_ROUNDS):
        if root == os.getpid() and not has_children():
            return  # nothing below us: no need to read every process of the machine
        found = descendants(root)
        if not found:
            return
        for pid in found:
            try:  # noqa: SIM105 (no contextlib in the supervisor)
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if root == os.getpid():
            _reap()
        time.sleep(0.002)


def kill_tree(root: int) -> None:
    """Kill ``root`` (a supervised child, or any child started in its own session) and
    everything below it: the descendants first, then ``root``'s group and ``root``."""
    if supported():
        kill_descendants(root)
    try:  # noqa: SIM105 (no contextlib in the supervisor)
        os.killpg(root, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:  # noqa: SIM105
        os.kill(root, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


# -- the lane process's side: what a killed supervisor leaves ----------------------------

#: Supervisors this process started and has not seen end (never swept as orphans).
_SUPERVISED: set[int] = set()
#: Whether this process adopts orphans (``maestro lane``; never a test runner or library).
_ADOPTING = False


def adopt_orphans() -> bool:
    """Make this process a child subreaper, for the command that runs a lane: a program
    that kills its own supervisor (``kill -9`` of its parent) leaves its tree to the next
    subreaper up, and that is now the lane process, which :func:`sweep_orphans` clears after
    every supervised run. Returns whether that is in force (Linux)."""
    global _ADOPTING
    _ADOPTING = supported() and prctl(PR_SET_CHILD_SUBREAPER, 1) == 0
    return _ADOPTING


def supervised(pid: int) -> None:
    """Note a supervisor this process just started, so no sweep takes it for an orphan."""
    _SUPERVISED.add(pid)


def orphans() -> list[int]:
    """Children of this process it did not start: adopted, because their own parents died.
    A child in this process's session is one of its own (git); one in another session is
    adopted unless it is a supervisor this process started."""
    if not has_children():
        _SUPERVISED.clear()  # as the scan below would find: none of them is alive
        return []
    me, session = os.getpid(), os.getsid(0)
    children = [pid for pid, parent in _parents().items() if parent == me]
    _SUPERVISED.intersection_update(children)
    found = []
    for pid in children:
        if pid in _SUPERVISED:
            continue
        try:
            if os.getsid(pid) != session:
                found.append(pid)
        except OSError:
            pass
    return found


def sweep_orphans() -> int:
    """Kill every adopted orphan and what is below it; returns how many were found."""
    if not _ADOPTING:
        return 0
    found = orphans()
    for pid in found:
        kill_tree(pid)
        for _ in range(500):
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                break
            if done:
                break
            time.sleep(0.002)
    return len(found)


def wrap(argv: Sequence[str], env: Mapping[str, str] | None = None) -> list[str]:
    """``argv`` run under the supervisor, or unchanged where there is none (not Linux) or
    where its program cannot be found (so the caller's own "cannot start" error stays)."""
    if not argv or not supported():
        return list(argv)
    import shutil  # here: the supervisor (this file run as a program) never needs it

    path = (env or os.environ).get("PATH", os.defpath)
    if shutil.which(argv[0], path=path) is None:
        return list(argv)
    # The issue rides in the argv, which everyone may read, for the operator API's refusal
    # messages: the supervisor's environment is closed to its user (it is not dumpable).
    issue = (env or os.environ).get("MAESTRO_ISSUE", "")
    named = ["--issue", issue] if issue else []
    return [sys.executable, "-I", "-S", os.path.abspath(__file__), "--parent", str(os.getpid()),
            *named, "--", *argv]


def _exit_like(status: int) -> None:
    """Leave with the child's wait status: its exit code, or death by its signal."""
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:  # noqa: SIM105
            signal.signal(number, signal.SIG_DFL)
        except (OSError, ValueError):  # SIGKILL and SIGSTOP keep theirs
            pass
        os.kill(os.getpid(), number)
        os._exit(128 + number)
    os._exit(os.waitstatus_to_exitcode(status))


def supervise(argv: list[str], parent: int | None = None) -> None:
    """Run ``argv`` as the only child, keep its whole tree, and leave nothing behind.
    ``parent``: the pid of the process that started this one (:func:`wrap` names it)."""
    # Not dumpable: a process of the same user (the agent below, without the sandbox) could
    # otherwise write this one's memory through /proc/PID/mem and rewrite the command line
    # that marks it as a supervisor (breaker 17). cmdline and stat stay readable by all;
    # the child's exec makes the program dumpable again, as it was.
    prctl(PR_SET_DUMPABLE, 0)
    prctl(PR_SET_CHILD_SUBREAPER, 1)
    prctl(PR_SET_PDEATHSIG, signal.SIGTERM)

    def stop(number: int, _frame: object) -> None:
        kill_descendants(os.getpid())
        signal.signal(number, signal.SIG_DFL)
        os.kill(os.getpid(), number)

    for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(number, stop)
    # The caller died before the death signal was armed: this process was handed to a
    # subreaper (the daemon, a lane above) or to init. Asked after arming, so no death is
    # missed; the caller needs no ``preexec_fn`` (which costs it a full fork: 10-30 ms for
    # a lane process, against a vfork).
    # Without a named parent, init's adoption is the sign (a lane that is pid 1 of its
    # namespace, a container's entrypoint, names itself: breaker 17).
    if (os.getppid() != parent) if parent is not None else (os.getppid() == 1):
        os._exit(CANNOT_EXEC)
    child = os.fork()
    if child == 0:
        try:
            for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                signal.signal(number, signal.SIG_DFL)
            prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
            os.execvp(argv[0], argv)
        except OSError as exc:
            os.write(2, f"cannot start {argv[0]!r}: {exc}\n".encode(errors="replace"))
        os._exit(CANNOT_EXEC)
    # The child holds the caller's pipes; ours are let go so its end of them reads as before.
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:  # pragma: no cover - the child is always ours to wait for
            os._exit(CANNOT_EXEC)
        if pid == child:
            break
    kill_descendants(os.getpid())
    _exit_like(status)


def options(arguments: list[str]) -> tuple[dict[str, str], list[str]]:
    """The supervisor's leading ``--parent PID`` and ``--issue ID`` options and what follows
    them (``--`` and the program, as :func:`wrap` writes it). Pure; read here and by
    :func:`maestro.containment.lineage.is_supervisor`."""
    found: dict[str, str] = {}
    while arguments[:1] in (["--parent"], ["--issue"]) and len(arguments) > 1:
        found[arguments[0]] = arguments[1]
        arguments = arguments[2:]
    return found, arguments


def _command(arguments: list[str]) -> tuple[list[str], int | None]:
    """``[--parent PID] [--issue ID] -- PROGRAM [ARG...]`` as the program's argv and the
    parent's pid (the issue is for readers of the command line). Raises ``ValueError`` for
    anything else."""
    named, arguments = options(arguments)
    parent = int(named["--parent"]) if "--parent" in named else None
    if arguments[:1] == ["--"]:
        arguments = arguments[1:]
    if not arguments:
        raise ValueError("no program")
    return arguments, parent


if __name__ == "__main__":
    try:
        program, expected_parent = _command(sys.argv[1:])
    except ValueError:
        os.write(2, b"usage: reaper.py [--parent PID] [--issue ID] -- PROGRAM [ARG...]\n")
        os._exit(2)
    supervise(program, expected_parent)
