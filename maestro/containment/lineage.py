"""Whose process is this? A process's ancestry, read from ``/proc``, and the supervisors in it.

Everything maestro starts for a lane that runs code it does not own (the agent, the MCP tool
server the agent starts, validation commands, workspace hooks, the local forge's checks) runs
under a supervisor (:mod:`maestro.containment.reaper`): ``python -I -S …/reaper.py --parent PID
--issue ID -- PROGRAM``. The supervisor is a child subreaper, so whatever that code forks,
``setsid`` or "daemonises" stays below it; under ``[agent] sandbox = "bubblewrap"`` the sandbox
is inside it, and nothing can leave a pid namespace. So "is there a supervisor among this
process's ancestors" answers "is this code a lane runs for the agent", and the process cannot
change the answer: its ancestors' command lines are not its to rewrite (the supervisor is not
dumpable, so its memory, where the kernel reads its command line from, is closed to a process
of the same user without ``CAP_SYS_PTRACE``), and (inside the sandbox) it cannot see or signal
them.

Used to refuse such processes on maestro's operator surfaces (the HTTP API's writes,
:mod:`maestro.operator.peer_guard`) and on another lane's tool relay
(:mod:`maestro.agents.tool_relay`). Linux only: elsewhere :func:`supported` is false and
callers keep their old behaviour. Reads ``/proc/<pid>/stat`` and ``cmdline``, which every
user may read, even of a process that made itself non-dumpable.
"""

from __future__ import annotations

import os

from maestro.containment.reaper import options, supported

__all__ = [
    "ancestors",
    "contained_processes",
    "descends_from",
    "is_supervisor",
    "issue_of",
    "processes",
    "supervisors_above",
    "supervisors_beyond",
    "supported",
    "whole_ancestry",
]

#: An ancestry longer than this is a loop in a racing ``/proc`` read (pid reuse): stop.
MAX_DEPTH = 512
#: The supervisor's program, as the tail of its path (:func:`maestro.containment.reaper.wrap`).
SUPERVISOR_TAIL = os.path.join("maestro", "containment", "reaper.py")


def parent_of(pid: int) -> int | None:
    """The parent of ``pid`` (0 for the first process), or None when it is gone or hidden."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return None
    fields = stat[stat.rfind(b")") + 2:].split()  # the command name may hold ") "
    return int(fields[1]) if len(fields) > 1 else None


def ancestors(pid: int) -> list[int]:
    """``pid`` and its ancestors, nearest first, up to the first process (never 0).
    A process that ends during the walk ends the list there."""
    chain = [pid]
    while len(chain) < MAX_DEPTH:
        parent = parent_of(chain[-1])
        if parent is None or parent <= 0 or parent in chain:
            break
        chain.append(parent)
    return chain


def descends_from(pid: int, root: int) -> bool:
    """Whether ``pid`` is ``root`` or below it."""
    return root in ancestors(pid)


def command_line(pid: int) -> list[str]:
    """``pid``'s argv (``[]`` when gone, a kernel thread, or unreadable)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            raw = handle.read()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0")[:-1]]


def is_supervisor(argv: list[str]) -> bool:
    """Whether ``argv`` is a supervisor's: ``PYTHON -I -S …/maestro/containment/reaper.py
    [--parent PID] [--issue ID] -- PROGRAM…``. A look-alike is taken for one: that only
    refuses more."""
    return (len(argv) >= 5 and argv[1:3] == ["-I", "-S"]
            and argv[3].endswith(SUPERVISOR_TAIL) and options(argv[4:])[1][:1] == ["--"])


def supervisors_above(pid: int) -> list[int]:
    """The supervisors among ``pid`` and its ancestors, nearest first."""
    return [each for each in ancestors(pid) if is_supervisor(command_line(each))]


def whole_ancestry(pid: int, tries: int = 3) -> list[int] | None:
    """:func:`ancestors`, but only a chain that ends at a process whose parent is 0, or at
    one this process cannot read while its child still names it as parent (another user's
    process under ``/proc``'s ``hidepid``: it is alive, since an ending process hands its
    children to a subreaper first). None when ``pid`` is gone, or when an ancestor kept
    ending during the walk (its children then belong to a subreaper further up, such as a
    supervisor, that a cut chain misses); a cut walk is taken again, up to ``tries`` times."""
    for _ in range(tries):
        chain = ancestors(pid)
        if parent_of(chain[-1]) == 0:
            return chain
        if len(chain) > 1 and parent_of(chain[-2]) == chain[-1]:
            return chain
    return None


def supervisors_beyond(pid: int, reference: int | None = None) -> list[int] | None:
    """The supervisors above ``pid`` that are not above ``reference`` (this process by
    default): the lane containment ``pid`` runs in and ``reference`` does not. Empty for
    the operator's own programs; also empty when both run inside one supervised command
    (maestro's own test suite run as a lane's validation talks to a server it started).
    None when ``pid``'s ancestry cannot be read whole (:func:`whole_ancestry`): whether it
    runs under a supervisor is then not known."""
    chain = whole_ancestry(pid)
    if chain is None:
        return None
    mine = set(supervisors_above(os.getpid() if reference is None else reference))
    return [each for each in chain if each not in mine and is_supervisor(command_line(each))]


def processes() -> dict[int, int]:
    """``{pid: parent pid}`` of every process this one can see."""
    found: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            parent = parent_of(int(entry))
            if parent is not None:
                found[int(entry)] = parent
    return found


def contained_processes(reference: int | None = None) -> dict[int, list[int]]:
    """Every process running under a supervisor that ``reference`` (this process by default)
    does not run under, with those supervisors, nearest first: one look at each process's
    ``stat`` and command line."""
    parents = processes()
    mine = set(supervisors_above(os.getpid() if reference is None else reference))
    supervisors = {pid for pid in parents
                   if pid not in mine and is_supervisor(command_line(pid))}
    found: dict[int, list[int]] = {}
    for pid in parents:
        chain, current = [], pid
        for _ in range(MAX_DEPTH):
            if current in supervisors:
                chain.append(current)
            parent = parents.get(current, 0)
            if parent > 0 and parent not in parents:
                # It ended during the scan: ``current`` moved up to a subreaper (maybe the
                # supervisor) meanwhile; ask for its parent again rather than stop here.
                parent = parent_of(current) or 0
            if parent <= 0 or parent == current:
                break
            current = parent
        if chain:
            found[pid] = chain
    return found


def issue_of(supervisor: int) -> str | None:
    """The issue a supervisor runs for: its ``--issue`` (:func:`maestro.containment.reaper.wrap`
    puts it in the command line, which every user may read), else ``MAESTRO_ISSUE`` in its
    environment (which only a reader with ``CAP_SYS_PTRACE`` sees: the supervisor is not
    dumpable); None when neither says. For messages only: never a decision."""
    argv = command_line(supervisor)
    if is_supervisor(argv):
        named = options(argv[4:])[0].get("--issue", "")[:64]
        if named:
            return named
    try:
        with open(f"/proc/{supervisor}/environ", "rb") as handle:
            environ = handle.read()
    except OSError:
        return None
    for entry in environ.split(b"\0"):
        if entry.startswith(b"MAESTRO_ISSUE="):
            return entry.partition(b"=")[2].decode(errors="replace")[:64] or None
    return None
