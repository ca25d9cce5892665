"""A lane's tool relay answers its own agent only: another lane's agent, which can reach the
socket (same user, shared ``/tmp``, even under bubblewrap), is refused, so it cannot act on
an issue that is not its own through that lane's tools."""

from __future__ import annotations

import subprocess
import sys

import pytest

from maestro.containment import lineage

pytestmark = pytest.mark.skipif(not lineage.supported(), reason="reads /proc (Linux only)")

#: ``python -c CALL SOCKET``: one tool call through the relay, prints ``OK TEXT``.
CALL = """
import sys
from maestro.agents.tool_relay import RelayClient
answer = RelayClient(sys.argv[1], timeout=30).call("issue_comment", {"body": "x"})
print(answer.ok, answer.text)
"""

#: A lane process: serves a relay, prints its path, has its own child (its agent's tool
#: server) call it and prints the answer, then waits for its stdin to close.
LANE = f"""
import asyncio, sys
from maestro.agents.tool_relay import ToolRelay
from maestro.agents.tools import ToolAnswer
CALL = {CALL!r}

async def main() -> None:
    relay = ToolRelay(lambda tool, arguments: ToolAnswer(True, "answered " + tool))
    await relay.start()
    print(relay.path, flush=True)
    child = await asyncio.create_subprocess_exec(sys.executable, "-c", CALL, str(relay.path),
                                                 stdout=asyncio.subprocess.PIPE)
    out, _ = await child.communicate()
    print(out.decode().strip(), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await relay.close()

asyncio.run(main())
"""


def test_only_the_lanes_own_agent_gets_answers_from_its_relay() -> None:
    lane = subprocess.Popen([sys.executable, "-c", LANE], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert lane.stdout is not None
        path = lane.stdout.readline().strip()
        assert lane.stdout.readline().strip() == "True answered issue_comment"
        other = subprocess.run([sys.executable, "-c", CALL, path], capture_output=True,
                               text=True, timeout=60, check=True).stdout
        assert other.startswith("False refused:"), other
        assert "another lane's" in other
    finally:
        assert lane.stdin is not None
        lane.stdin.close()
        lane.wait(timeout=60)


def test_a_connection_whose_peer_the_kernel_does_not_name_is_refused() -> None:
    import socket

    from maestro.agents.tool_relay import foreign_peer

    mine, _ = socket.socketpair()
    mine.close()  # SO_PEERCRED on it fails
    assert str(foreign_peer(mine)).startswith("refused: this tool relay cannot tell")
    assert str(foreign_peer(None)).startswith("refused")
