"""How long the tick's daily-spend fact takes over a large state root (docs/guide/budgets.md).

Builds ``--lanes`` lane folders with five finished sessions each, of which ``--active``
were written today, and times :func:`maestro.lanes.budgets.spend.spent_on`: first with the rest
last written long ago (the usual state root: most lanes finished long since), then with
every folder written today (the worst case: each ledger is read), then once more (a
daemon's next tick: nothing moved, nothing is read).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

from maestro.fsutil import write_json
from maestro.lanes.budgets.spend import spent_on


def build(root: Path, lanes: int, active: int, today: date) -> None:
    ended = datetime.combine(today, datetime.min.time(), UTC).isoformat()
    old = datetime(2000, 1, 1, tzinfo=UTC).timestamp()
    for index in range(lanes):
        folder = root / "lanes" / f"L-{index}"
        write_json(folder / "tokens.json", {"sessions": {
            f"run-{n}/thr-{n}": {"n": n, "phase": "agent", "run_id": f"run-{n}",
                                 "thread_id": f"thr-{n}", "ended_at": ended,
                                 "tokens": {"totalTokens": 1000}} for n in range(5)}})
        if index >= active:
            os.utime(folder, (old, old))


def timed(root: Path, today: date) -> tuple[int, float]:
    started = time.perf_counter()
    total = spent_on(root, today)
    return total, (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lanes", type=int, default=2000)
    parser.add_argument("--active", type=int, default=20)
    args = parser.parse_args()
    today = datetime.now(UTC).date()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        build(root, args.lanes, args.active, today)
        total, ms = timed(root, today)
        assert total == args.active * 5000, total
        print(f"spent_on: {args.lanes} lanes, {args.active} written today: {ms:.1f} ms")
        # Earlier today, but long enough ago for the sums' memory to trust it.
        midnight = datetime.combine(today, datetime.min.time(), UTC).timestamp()
        earlier = max(midnight + 1, time.time() - 60)
        for index in range(args.lanes):
            os.utime(root / "lanes" / f"L-{index}", (earlier, earlier))
        total, ms = timed(root, today)
        print(f"spent_on: {args.lanes} lanes, all written today, first sum: {ms:.1f} ms")
        total, ms = timed(root, today)
        assert total == args.lanes * 5000, total
        print(f"spent_on: {args.lanes} lanes, all written today, next sum: {ms:.1f} ms")


if __name__ == "__main__":
    main()
