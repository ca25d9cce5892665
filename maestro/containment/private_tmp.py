"""maestro's own folders under the temporary folder, private to this user and read-only in
every sandbox.

Two kinds of folder maestro makes under ``/tmp`` are read by a lane that did not write them:
the local forge's check trees (a check result read by the lane that waits for it) and the
issue tools' relays (a socket and what starts the tool server). The temporary folder
itself stays writable in a sandbox (tests need it), and ``mkdtemp``'s mode 0700 keeps out
other users only: a sandboxed agent of another lane is the same user. So each kind lives
in one folder per user, ``<tmp>/maestro-<kind>.<uid>``, made 0700 and checked to be this
user's own real folder, which every sandbox binds read-only
(:func:`~maestro.containment.operator_view.read_only_folders`).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

#: The relays of the issue tools (:class:`maestro.agents.tool_relay.ToolRelay`).
TOOL_RELAYS = "tools"
#: The local forge's check trees (:func:`maestro.forges.checktree.checks_root`).
CHECKS = "checks"
#: Each lane's own agent state (:func:`maestro.containment.agent_homes.lane_state_binds`).
LANE_STATE = "agent-state"


def private_folder(kind: str) -> Path:
    """``<tmp>/maestro-<kind>.<uid>``, created 0700 when absent. ``PermissionError`` naming
    it when it is not this user's private folder (a symbolic link planted in its place,
    another user's folder, one others may write)."""
    root = Path(tempfile.gettempdir()) / f"maestro-{kind}.{os.getuid()}"
    with contextlib.suppress(FileExistsError):
        root.mkdir(mode=0o700)
    info = os.lstat(root)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise PermissionError(f"{root}: expected a folder only this user can use; remove it")
    return root
