"""One long-lived ``git cat-file --batch-check`` per folder and process, for the commits names
point at.

A lane asks which commit a name points at about twenty times (``HEAD``, its branch, the
base, the remote-tracking branch; each phase and each forge call again), and each answer
was a git process: about 3 ms of CPU, of which git's own start-up is half. A
``cat-file --batch-check`` process answers each name as it is written, reading the refs
afresh for every line (loose refs are read again, ``packed-refs`` is taken again when
its ``stat`` changes) and finding an object written since (a pack written since is found
when an object is missing), so its answers are those a new process would give, for
about 0.3 ms. What git reads once per process is part of the reader's key
(:func:`location`): a change to it starts a new reader.

What stays as it was for a one-shot call:

* the guarded environment (:func:`maestro.git.git_env`) is built before every question, so
  a config source that is not a regular file still stops the call
  (:class:`~maestro.containment.config_listing.ConfigSourceError`); when the environment
  differs from the reader's (the repository's config changed), a new reader is started;
* a reader belongs to the folder's git location as it was when it started
  (:func:`location`: the ``.git`` entry's inode, and a pointer file's content with its
  ``commondir``; the pack folder, ``shallow`` and ``alternates``): a worktree removed and
  added again, or repointed, a repack, a prune, a deepened clone get a reader of their own;
* ``cat-file --batch-check`` runs no program (no filter, no textconv: neither option is
  given), holds no secret (the guarded environment has none), and reads only the names
  it is given, over a socket pair no other process can open (:class:`_Reader`).

Any failure (the reader died, answered out of shape, or took longer than
:data:`ANSWER_TIMEOUT_S`) closes that reader and returns None: the caller asks a one-shot
process, as before. At most :data:`MAX_READERS` stay open per process (the least recently
used is closed), none for longer than :data:`MAX_AGE_S`; a forked child (a warm lane)
forgets its parent's readers without touching them, and each process closes its own at
exit, so a reader never outlives the process that asked (a killed process closes its end
of the socket, and git exits on EOF).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import secrets
import selectors
import socket
import stat
import subprocess
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from pathlib import Path

from maestro.containment.config_listing import read_pointer

#: Readers kept open per process; a daemon asks about many worktrees over its life.
MAX_READERS = 4
#: A reader older than this is replaced at its next question: it keeps the pack files it
#: opened, and a ``gc`` that removed them frees their space only when it exits.
MAX_AGE_S = 300.0
#: How long one batch of answers may take before the reader is given up.
ANSWER_TIMEOUT_S = 30.0
#: Names written before their answers are read, and their bytes (bounded so neither
#: socket buffer fills: a name git cannot find comes back whole in its answer).
BATCH = 256
BATCH_BYTES = 32 * 1024
FORMAT = "--batch-check=%(objectname) %(objecttype)"

Key = tuple[object, ...]


class _Reader:
    """One ``cat-file`` process and the environment it was started with.

    It talks over a socket pair, not pipes: any process of the same user can open a
    pipe's other end through ``/proc/<pid>/fd/N`` and write a question or an answer into
    it (breaker 30 F1), where opening a socket there fails (``ENXIO``). Each batch of
    questions ends with a name no one else knows (:func:`_sentinel`), whose "missing"
    answer must come last: anything else in the stream puts the reader out of use."""

    def __init__(self, program: str, cwd: Path, env: Mapping[str, str]) -> None:
        self.env = dict(env)
        self.started = time.monotonic()
        self.lock = threading.Lock()
        ours, theirs = socket.socketpair()
        try:
            self.proc = subprocess.Popen([program, "cat-file", FORMAT], cwd=cwd, env=self.env,
                                         stdin=theirs.fileno(), stdout=theirs.fileno(),
                                         stderr=subprocess.DEVNULL)
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        ours.settimeout(ANSWER_TIMEOUT_S)  # a stopped reader never blocks a write either
        self.channel = ours

    def ask(self, lines: Sequence[str]) -> list[str] | None:
        """One answer line per line of ``lines`` (names with ``^{commit}`` and the like),
        or None when the reader failed."""
        with self.lock:
            answers: list[str] = []
            for chunk in _batches(lines):
                got = self._ask_chunk(chunk)
                if got is None:
                    return None
                answers += got
            return answers

    def _ask_chunk(self, chunk: Sequence[str]) -> list[str] | None:
        if self.channel.fileno() < 0 or self.proc.poll() is not None:
            return None
        sentinel = _sentinel()
        try:
            self.channel.sendall("".join(f"{line}\n" for line in [*chunk, sentinel]).encode())
        except OSError:
            return None
        expected = f"{sentinel} missing\n".encode()
        data = b""
        deadline = time.monotonic() + ANSWER_TIMEOUT_S
        with selectors.DefaultSelector() as selector:
            selector.register(self.channel, selectors.EVENT_READ)
            while not data.endswith(expected):
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(left):
                    return None
                try:
                    piece = self.channel.recv(65536)
                except OSError:
                    return None
                if not piece:
                    return None
                data += piece
        answers = data[:-len(expected)].decode(errors="replace").split("\n")
        if len(answers) != len(chunk) + 1 or answers[-1]:
            return None  # not one answer per question: out of step, never trusted
        return answers[:-1]

    def close(self) -> None:
        """End the process: EOF on its input, then a kill if it does not exit at once."""
        try:
            with contextlib.suppress(OSError):
                self.channel.shutdown(socket.SHUT_WR)
            self.proc.wait(timeout=1)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        finally:
            self.channel.close()

    def forget(self) -> None:
        """In a forked child: drop this process's end of the socket (without a shutdown,
        which would end the parent's reader too), leave the process to the parent."""
        self.channel.close()
        self.proc.returncode = 0  # not this process's child: never waited on here


def _batches(lines: Sequence[str]) -> list[list[str]]:
    """``lines`` cut into batches of at most :data:`BATCH` names and
    :data:`BATCH_BYTES` bytes: git echoes each missing name back, so a batch larger than
    the socket buffers would block both sides (breaker 30 R2)."""
    batches: list[list[str]] = [[]]
    size = 0
    for line in lines:
        cost = len(line.encode()) + 1
        if batches[-1] and (len(batches[-1]) >= BATCH or size + cost > BATCH_BYTES):
            batches.append([])
            size = 0
        batches[-1].append(line)
        size += cost
    return [batch for batch in batches if batch]


def _sentinel() -> str:
    """A name no ref or object has, and nobody else can guess."""
    return f"refs/maestro-sentinel/{secrets.token_hex(16)}"


def _identity(path: str) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def _inode(path: str) -> tuple[int, int] | None:
    """Which folder ``path`` is (not its times: a worktree's change with every file the
    agent writes)."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return (st.st_dev, st.st_ino)


def location(cwd: Path) -> Key:
    """What decides which repository a git process started in ``cwd`` reads and what a
    long-lived one would keep of it: the folder (resolved, and its inode: a bare
    repository made again at the same path is another one), its ``.git`` entry's inode and
    kind, for a ``.git`` file its content and the identity of the ``commondir`` file it
    leads to, and in the common git dir the identity of what git reads once per process
    (breaker 30 F2-F5): the pack folder (a repack or a prune removes packs it keeps
    mapped), ``shallow`` and ``objects/info/alternates`` with the pack folder of each
    store it names. A ``.git`` folder's times are left out: git changes them with every
    ref or index it writes there. Pointers are read as git reads them
    (:func:`~maestro.containment.config_listing.read_pointer`)."""
    folder = os.path.realpath(cwd)
    dotgit = os.path.join(folder, ".git")
    try:
        st = os.lstat(dotgit)
    except OSError:
        st = None
    where: tuple[object, ...]
    if st is None:
        common = folder  # a bare repository, or none
        where = (None,)
    elif not stat.S_ISREG(st.st_mode):
        common = dotgit
        where = (st.st_dev, st.st_ino, stat.S_IFMT(st.st_mode))
    else:
        try:
            with open(dotgit, "rb") as handle:
                content = handle.read(4096)
        except OSError:
            return (folder, st.st_dev, st.st_ino, None)
        named = read_pointer(content, folder, b"gitdir: ")
        admin = named[0] if named is not None else dotgit
        try:
            with open(os.path.join(admin, "commondir"), "rb") as handle:
                pointer = handle.read(4096)
        except OSError:
            pointer = b""
        pointed = read_pointer(pointer, admin)
        common = pointed[0] if pointed is not None else admin
        where = (st.st_dev, st.st_ino, content, pointer)
    objects = os.path.join(common, "objects")
    return (folder, _inode(folder), *where, _identity(os.path.join(objects, "pack")),
            _identity(os.path.join(common, "shallow")), *_alternates(objects))


def _alternates(objects: str) -> tuple[object, ...]:
    """The ``alternates`` file's identity and, for each store it names, that store's pack
    folder's (a pack pruned there is kept mapped too: breaker 30 R3). One level: the
    stores maestro makes name no further ones."""
    listing = os.path.join(objects, "info", "alternates")
    found: list[object] = [_identity(listing)]
    if found[0] is None:
        return tuple(found)
    try:
        with open(listing, "rb") as handle:
            content = handle.read(65536)
    except OSError:
        return tuple(found)
    for line in content.splitlines()[:16]:
        line = line.strip()
        if line and not line.startswith(b"#"):
            store = os.path.join(objects, os.fsdecode(line))
            found.append(_identity(os.path.join(store, "pack")))
    return tuple(found)


_READERS: OrderedDict[Key, _Reader] = OrderedDict()
_GUARD = threading.Lock()


def ask(cwd: Path, key: Key, program: str, env: Mapping[str, str],
        lines: Sequence[str]) -> list[str] | None:
    """The answer lines of ``cwd``'s reader under ``key`` (its git location), started with
    ``env`` if there is none or it has another environment; None when no reader could
    answer (then none is kept for ``key``)."""
    with _GUARD:
        reader = _READERS.pop(key, None)
        if reader is not None and (reader.env != env
                                   or time.monotonic() - reader.started > MAX_AGE_S):
            reader.close()
            reader = None
        if reader is None:
            try:
                reader = _Reader(program, cwd, env)
            except (OSError, ValueError):
                return None
        _READERS[key] = reader
        while len(_READERS) > MAX_READERS:
            _, oldest = _READERS.popitem(last=False)
            oldest.close()
    answers = reader.ask(lines)
    if answers is None:
        with _GUARD:
            if _READERS.get(key) is reader:
                del _READERS[key]
        reader.close()
    return answers


def close_all() -> None:
    """Close every reader of this process (at exit; tests)."""
    with _GUARD:
        readers = list(_READERS.values())
        _READERS.clear()
    for reader in readers:
        reader.close()


def open_readers() -> int:
    """How many readers this process holds open (tests, benchmarks)."""
    return len(_READERS)


def _forget_after_fork() -> None:
    global _GUARD
    _GUARD = threading.Lock()
    for reader in _READERS.values():
        reader.forget()
    _READERS.clear()


os.register_at_fork(after_in_child=_forget_after_fork)
atexit.register(close_all)
