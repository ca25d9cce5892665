"""The heads a lane's push may replace on the remote: those maestro pushed for the issue."""

from __future__ import annotations

import json
from pathlib import Path

from maestro.config.service import ServiceConfig
from maestro.lanes.context import LaneContext
from maestro.lanes.push.push_guard import own_heads
from maestro.lanes.record.state import PUSHED


def write(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


def test_the_heads_of_the_lane_and_of_its_archived_folders_are_its_own(
        tmp_path: Path) -> None:
    config = ServiceConfig().resolved(tmp_path)
    ctx = LaneContext(config, "DEMO-1")
    write(ctx.state.path(PUSHED), {"heads": ["a1"]})
    write(ctx.state.path("pr.json"), {"validated_head": "b2", "repair_heads": ["c3"],
                                      "pending_repair": {"head": "d4"}})
    archived = config.state_root / "archive" / "DEMO-1-run-20261130T000000Z-abcdef"
    write(archived / PUSHED, {"heads": ["e5"]})
    write(archived / "pr.json", {"validated_head": "f6"})
    other = config.state_root / "archive" / "DEMO-10-run-20261130T000000Z-abcdef"
    write(other / PUSHED, {"heads": ["not-mine"]})  # another issue's folder

    assert own_heads(ctx) == {"a1", "b2", "c3", "d4", "e5", "f6"}


def test_damaged_records_name_no_head(tmp_path: Path) -> None:
    config = ServiceConfig().resolved(tmp_path)
    ctx = LaneContext(config, "DEMO-1")
    write(ctx.state.path(PUSHED), ["not", "a", "mapping"])
    ctx.state.path("pr.json").write_text("{torn")
    assert own_heads(ctx) == set()
