"""Benchmark: CPU of one files-tracker write (a state move, a comment, a label), splicing
only the changed keys against dumping the whole front matter, in one run.

A lane writes its issue about twelve times; each write used to dump the whole front
matter through ruamel.yaml, so a write cost more the more comments the issue held. Both
ways run in this process on the same issue files (the whole dump is the tracker with
:func:`maestro.trackers.frontmatter_splice.splice` answering None, its fallback), writes
alternating, for issues that already hold 0, 5, 30 and 100 comments. The time is
``time.process_time`` per write (CPU of this process: the read, the edit, the emit, the
atomic write), median of ``--writes`` writes of each kind.

    python bench/bench_tracker_writes.py [--writes 40]

Prints a Markdown table; asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchlib import commit, table

from maestro.trackers import files
from maestro.trackers.files import FilesTracker

SPLICE = files.splice


def whole_dump(*_args: object) -> None:
    return None


def move(tracker: FilesTracker, number: int) -> object:
    return tracker.transition("B-1", "In Progress" if number % 2 else "Human Review")


def label(tracker: FilesTracker, number: int) -> object:
    return (tracker.add_label("B-1", "x") if number % 2
            else tracker.remove_label("B-1", "x"))


def comment(tracker: FilesTracker, number: int) -> object:
    return tracker.comment("B-1", f"more {number}")


def timed(write: Callable[[FilesTracker, int], object], tracker: FilesTracker, number: int,
          splice_on: bool) -> float:
    files.splice = SPLICE if splice_on else whole_dump  # type: ignore[assignment]
    started = time.process_time()
    write(tracker, number)
    return time.process_time() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--writes", type=int, default=40, help="writes of each kind per row")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for comments in (0, 5, 30, 100):
            tracker = FilesTracker(Path(tmp) / f"c{comments}", "B")
            tracker.create("A benchmark issue", "Its body.", labels=["bug"], identifier="B-1")
            for number in range(comments):
                tracker.comment("B-1", f"**maestro** · comment {number}\n\n- `run_id`: r-1")
            # comments last: they grow the issue, so both ways alternate on the same size
            for kind, write in (("state move", move), ("label", label), ("comment", comment)):
                times: dict[bool, list[float]] = {True: [], False: []}
                for number in range(args.writes):
                    for splice_on in (number % 2 == 0, number % 2 == 1):
                        times[splice_on].append(timed(write, tracker, number, splice_on))
                rows.append(_row(comments, kind, times))
    files.splice = SPLICE
    print(table(f"Files-tracker writes, splice against whole dump (`{commit()}`)",
                ["comments on the issue", "write", "whole dump ms", "splice ms", "ratio"],
                rows))
    return 0


def _row(comments: int, kind: str, times: dict[bool, list[float]]) -> list[object]:
    whole, spliced = (statistics.median(times[way]) * 1000 for way in (False, True))
    return [comments, kind, f"{whole:.2f}", f"{spliced:.2f}", f"{spliced / whole:.2f}x"]


if __name__ == "__main__":
    raise SystemExit(main())
