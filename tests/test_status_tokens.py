"""A lane's token count covers every attempt, not only the last one."""

from __future__ import annotations

from pathlib import Path

from maestro.fsutil import write_json
from maestro.ids import utc_now
from maestro.lanes.record.state import LaneState
from maestro.operator.status import lane_snapshot


def test_tokens_add_up_over_retried_attempts(tmp_path: Path) -> None:
    state = LaneState(tmp_path, "TOK-1")
    write_json(state.dir / "attempts" / "0001" / "result.json",
               {"disposition": "failed", "tokens": {"totalTokens": 300, "inputTokens": 200}})
    write_json(state.dir / "result.json",
               {"disposition": "review_handoff", "tokens": {"totalTokens": 150,
                                                             "inputTokens": 100}})
    write_json(state.dir / "lease.json", {"run_id": "run-2", "attempt": 2})
    snap = lane_snapshot(state, utc_now())
    assert snap["tokens"] == {"totalTokens": 450, "inputTokens": 300}
