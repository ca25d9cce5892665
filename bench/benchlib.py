"""Shared pieces of the start-up, tick and memory benchmarks (not a benchmark itself).

Sandboxes are built with ``maestro demo``'s builder (real git, a bare origin, the files
tracker, the local forge and the scripted agent); timings are wall-clock medians of fresh
processes, because start-up is what an operator and a CI runner pay for every call.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from maestro.scaffold.demo import build_sandbox  # noqa: E402
from maestro.trackers.files import FilesTracker  # noqa: E402


def commit() -> str:
    return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                          capture_output=True, text=True, check=False).stdout.strip()


def empty_sandbox(root: Path) -> tuple[Path, Path]:
    """A demo sandbox without the demo issues."""
    repo, origin = build_sandbox(root)
    for path in (repo / "issues").glob("DEMO-*.md"):
        path.unlink()
    return repo, origin


def maestro(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "maestro", *args], cwd=repo,
                          capture_output=True, text=True, timeout=300, check=False)
    if check and proc.returncode != 0:
        raise SystemExit(f"maestro {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def finished_lane(repo: Path, identifier: str = "BENCH-1") -> None:
    """Run one lane from claim to cleanup: agent, review wait, approval, land, closeout."""
    FilesTracker(repo / "issues", "BENCH").create("benchmark lane", "Add a note.",
                                                  identifier=identifier)
    maestro(repo, "lane", identifier, "--quiet")
    maestro(repo, "review", "approve", identifier)
    maestro(repo, "lane", identifier, "--quiet")
    if not (repo / ".maestro" / "lanes" / identifier / "cleanup.json").exists():
        raise SystemExit(f"lane {identifier} did not finish")


def write_issues(folder: Path, count: int, prefix: str = "LOAD", state: str = "Todo") -> None:
    """``count`` issue files written directly (as people or an import would), quickly."""
    folder.mkdir(parents=True, exist_ok=True)
    for number in range(1, count + 1):
        (folder / f"{prefix}-{number}.md").write_text(
            f"---\ntitle: Load issue {number}\nstate: {state}\nlabels: []\nblocked_by: []\n"
            f"priority: {number % 4}\ncreated_at: '2026-11-0{1 + number % 9}T10:00:00+00:00'\n"
            f"---\nIssue number {number}.\n")


def wall_times(argv: Sequence[str], cwd: Path, runs: int,
               env: dict[str, str] | None = None) -> list[float]:
    """Wall-clock seconds of ``runs`` fresh processes (after one warm-up run)."""
    full_env = {**os.environ, **(env or {})}
    subprocess.run(argv, cwd=cwd, capture_output=True, env=full_env, check=False)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        proc = subprocess.run(argv, cwd=cwd, capture_output=True, env=full_env, check=False)
        times.append(time.perf_counter() - started)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}:\n"
                             f"{proc.stderr.decode(errors='replace')}")
    return times


def median_ms(values: Sequence[float]) -> float:
    return statistics.median(values) * 1000


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table, ready for docs/performance.md."""
    lines = [f"### {title}", "", "| " + " | ".join(header) + " |",
             "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)
