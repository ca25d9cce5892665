"""Relay folders a killed lane left behind are swept when the next relay is made; a live
relay's folder, or a folder made a moment ago, is kept."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

from maestro.agents.tool_relay import SOCKET_NAME, STALE_AFTER_S, sweep_dead_relays


def relay_folder(root: Path, name: str, age_s: float) -> Path:
    folder = root / name
    folder.mkdir()
    then = time.time() - age_s
    os.utime(folder, (then, then))
    return folder


def test_an_old_relay_no_one_listens_on_is_swept(tmp_path: Path) -> None:
    dead = relay_folder(tmp_path, "relay-dead", STALE_AFTER_S + 5)
    with socket.socket(socket.AF_UNIX) as gone:  # bound once, its lane process is gone
        gone.bind(str(dead / SOCKET_NAME))
    os.utime(dead, (time.time() - STALE_AFTER_S - 5,) * 2)
    assert sweep_dead_relays(tmp_path) == ["relay-dead"]
    assert not dead.exists()


def test_a_live_relay_and_a_young_folder_are_kept(tmp_path: Path) -> None:
    live = relay_folder(tmp_path, "relay-live", STALE_AFTER_S + 5)
    young = relay_folder(tmp_path, "relay-young", 1)
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(live / SOCKET_NAME))
        server.listen(1)
        os.utime(live, (time.time() - STALE_AFTER_S - 5,) * 2)
        assert sweep_dead_relays(tmp_path) == []
    assert live.exists() and young.exists()
