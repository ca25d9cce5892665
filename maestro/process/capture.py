"""A short child process's whole output, kept in memory files instead of pipes.

:func:`subprocess.run` with ``capture_output`` reads the child's two pipes through a
selector loop in Python, and a lane runs about seventy git processes: the loop was 0.4 ms
of the lane's own CPU per call, more than the ``vfork`` and ``exec`` themselves. Here the
child writes its standard output and error into two anonymous memory files
(``memfd_create(2)``), its input (if any) is read from a third, and the parent only waits
and reads each file once. No pipe can fill, so neither side can block the other, whatever
the sizes.

Elsewhere than Linux (no ``os.memfd_create``) this is :func:`subprocess.run`, unchanged.
"""

from __future__ import annotations

import locale
import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

#: memfd_create(2) flags: the files are closed in every exec'd program but the child's
#: three standard streams (which Popen dup2s, clearing the flag).
_FLAGS = getattr(os, "MFD_CLOEXEC", 0)


def run_bytes(argv: Sequence[str], cwd: Path | str, env: Mapping[str, str],
              stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run ``argv`` to its end in ``cwd`` with exactly ``env``: stdin is ``stdin`` (else
    ``/dev/null``), stdout and stderr are returned as bytes. Never raises for the exit
    status; ``OSError`` when the program cannot start (as :func:`subprocess.run`)."""
    if not hasattr(os, "memfd_create"):
        return subprocess.run(list(argv), cwd=cwd, env=dict(env), input=stdin,
                              stdin=None if stdin is not None else subprocess.DEVNULL,
                              capture_output=True, check=False)
    out = os.memfd_create("maestro-stdout", _FLAGS)
    err = os.memfd_create("maestro-stderr", _FLAGS)
    given = None
    try:
        if stdin is not None:
            given = os.memfd_create("maestro-stdin", _FLAGS)
            _write_all(given, stdin)
            os.lseek(given, 0, os.SEEK_SET)
        proc = subprocess.Popen(list(argv), cwd=cwd, env=dict(env),
                                stdin=given if given is not None else subprocess.DEVNULL,
                                stdout=out, stderr=err)
        code = proc.wait()
        return subprocess.CompletedProcess(list(argv), code, _contents(out), _contents(err))
    finally:
        for fd in (out, err, given):
            if fd is not None:
                os.close(fd)


def run_text(argv: Sequence[str], cwd: Path | str, env: Mapping[str, str],
             stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """:func:`run_bytes` with text in and out as ``subprocess.run(text=True,
    errors="replace")`` gives it: the locale's encoding, undecodable bytes replaced,
    universal newlines."""
    encoding = locale.getpreferredencoding(False)
    proc = run_bytes(argv, cwd, env, None if stdin is None else stdin.encode(encoding))
    return subprocess.CompletedProcess(proc.args, proc.returncode,
                                       _text(proc.stdout, encoding), _text(proc.stderr, encoding))


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _contents(fd: int) -> bytes:
    size, got = os.fstat(fd).st_size, 0
    parts: list[bytes] = []
    while got < size:  # one read but for outputs past read(2)'s 2 GiB cap
        part = os.pread(fd, size - got, got)
        if not part:
            break
        parts.append(part)
        got += len(part)
    return b"".join(parts)


def _text(data: bytes, encoding: str) -> str:
    """What ``subprocess`` makes of a text-mode stream's bytes (``_translate_newlines``)."""
    return data.decode(encoding, "replace").replace("\r\n", "\n").replace("\r", "\n")
