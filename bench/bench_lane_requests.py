"""Tracker and forge calls of one whole lane, and the hourly API budget they imply.

Counts every Tracker and Forge method call of a lane driven from claim to cleanup (scripted
agent with one comment, one review round) and combines it with the per-tick cost measured
by bench_tracker_requests.py, to size a deployment against the published rate limits.
Run: python bench/bench_lane_requests.py
"""

from __future__ import annotations

import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from maestro.config.service import parse_config_file
from maestro.forges.local import LocalForge
from maestro.model import ReviewVerdict
from maestro.pipeline import run_lane
from maestro.scaffold.demo import build_sandbox
from maestro.trackers.files import FilesTracker

TRACKER_CALLS = ("candidates", "fetch", "get", "transition", "comment", "comments", "add_label",
                 "remove_label")
FORGE_CALLS = ("push", "find_pr", "open_pr", "refresh", "merge", "delete_branch", "close_pr",
               "resolve_threads")


def count_calls(cls: type, names: tuple[str, ...], counter: Counter[str]) -> None:
    for name in names:
        original = getattr(cls, name)

        def wrapper(self: Any, *args: Any, __o: Any = original, __n: str = name,
                    **kw: Any) -> Any:
            counter[__n] += 1
            return __o(self, *args, **kw)

        setattr(cls, name, wrapper)


def main() -> None:
    tracker_calls: Counter[str] = Counter()
    forge_calls: Counter[str] = Counter()
    count_calls(FilesTracker, TRACKER_CALLS, tracker_calls)
    count_calls(LocalForge, FORGE_CALLS, forge_calls)
    with tempfile.TemporaryDirectory() as tmp:
        repo, _ = build_sandbox(Path(tmp) / "box")
        for path in (repo / "issues").glob("DEMO-*.md"):
            path.unlink()
        FilesTracker(repo / "issues", "DEMO").create(
            "Budget", "```maestro-script\nsteps:\n  - write: {path: b.txt, content: b}\n"
            "  - commit: b\n  - comment: progress\n  - handoff: done\n```\n", identifier="B-1")
        config = parse_config_file(repo / "maestro.toml")
        run_lane(config, "B-1", ["--reporter", "zero"])
        forge = LocalForge(repo, "origin")
        pr = forge.find_pr("maestro/b-1")
        assert pr is not None
        forge.add_review(pr.number, ReviewVerdict.APPROVED, author="bench")
        outcome = run_lane(config, "B-1", ["--reporter", "zero"])
        assert outcome["outcome"] == "finished", outcome
    tracker_total = sum(tracker_calls.values())
    forge_total = sum(forge_calls.values())
    print("calls of one lane, claim to cleanup (two lane runs: before and after review)\n")
    print(f"{'adapter':<8} {'method':<16} {'calls':>5}")
    for name, count in sorted(tracker_calls.items()):
        print(f"{'tracker':<8} {name:<16} {count:>5}")
    for name, count in sorted(forge_calls.items()):
        print(f"{'forge':<8} {name:<16} {count:>5}")
    print(f"\ntracker calls per lane: {tracker_total}; forge calls per lane: {forge_total}")
    per_tick_tracker, per_tick_forge = 7, 1  # bench_tracker_requests.py; one PR refresh query
    ticks = 60
    print("\nhourly budget at a 60 s tick, lanes finishing within the hour\n")
    print(f"{'lanes/h':>7} {'tracker req/h':>14} {'forge req/h':>12}")
    for lanes in (1, 50, 200):
        print(f"{lanes:>7} {ticks * per_tick_tracker + lanes * tracker_total:>14} "
              f"{ticks * per_tick_forge + lanes * forge_total:>12}")


if __name__ == "__main__":
    main()
