"""A merged lane whose state files were damaged is rebuilt from the tracker and the forge
and finishes, instead of being dispatched and skipped ("issue is Done") on every tick."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.conftest import Sandbox

LANE = "MD-1"
DAMAGED = ("merge.json", "closeout.json", "cleanup.json", "outcome.json")


@pytest.fixture
def merged_then_damaged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    box = Sandbox(tmp_path_factory.mktemp("merged") / "sandbox")
    for path in (box.repo / "issues").glob("DEMO-*.md"):
        path.unlink()
    box.add_issue(LANE)
    box.lane(LANE)
    box.approve(LANE)
    box.lane(LANE)
    assert box.outcome(LANE) == "finished" and box.issue(LANE).state == "Done"
    for name in DAMAGED:
        (box.repo / ".maestro" / "lanes" / LANE / name).write_bytes(b"xx")
    yield box


def tick(box: Sandbox) -> dict[str, object]:
    return dict(json.loads(box.maestro("run", "--once", "--json", check=True).stdout))


def test_the_next_run_rebuilds_the_merged_lane_and_it_finishes_for_good(
        merged_then_damaged: Sandbox) -> None:
    box = merged_then_damaged
    box.lane(LANE)  # sets the damaged files aside (a person's run, or the daemon's)
    assert box.outcome(LANE) == "finished"
    for name in ("merge.json", "closeout.json", "cleanup.json"):
        assert box.lane_file(LANE, name) is not None, name
    assert box.issue(LANE).state == "Done"
    assert tick(box)["dispatch"] == []
