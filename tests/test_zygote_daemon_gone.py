"""A warm-lane zygote whose daemon was killed leaves quietly (breaker 25 F7).

The daemon's end of the socket goes away mid-conversation; the zygote's next write or read
used to raise ``BrokenPipeError``/``ConnectionResetError`` all the way out, and each kill of
a daemon left a Python traceback in ``.maestro/logs/zygote.log`` that read as a crash.
"""

from __future__ import annotations

import os
import socket

from maestro.orchestration.warm.zygote import Birth, serve


def test_a_zygote_whose_daemon_is_gone_returns_without_an_error() -> None:
    ours, daemons = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    daemons.close()  # the daemon was killed before the zygote said hello
    birth = Birth(environ=[], env=dict(os.environ), signals={})
    try:
        assert serve(ours, os.getppid(), birth) is None
    finally:
        ours.close()
