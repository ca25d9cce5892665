"""The number of git processes one lane run starts is bounded: a count, not a time.

A lane's git calls are deterministic for a given script (the same phases ask the same
questions), so the count from ``GIT_TRACE`` (one ``trace: built-in`` line per git process,
including those git spawns itself, like ``maintenance run --auto`` after a fetch) is stable.
``git config`` listings are left out: they belong to the hardened environment of
:mod:`maestro.containment.gitguard`, counted apart. Raise :data:`BUDGET` only on purpose,
for a new question a phase must ask.
"""

from __future__ import annotations

import collections
from pathlib import Path

import pytest

from tests.conftest import Sandbox

pytestmark = pytest.mark.slow

#: git processes (without ``git config``) of one lane run from claim to review wait; 54 at
#: the time of writing (61 before repeats within a phase were asked once, 79 before other
#: issue 16 work, 77 before a skipped fetch had to find its commit in the repository,
#: 92 before the local forge skipped fetches that change nothing and provenance kept its
#: answers about hashes, 123 before issue 16: ``bench/bench_lane_git.py``), with room for
#: a lane's timing (a retried call) but not for a new git call on every phase.
BUDGET = 59


def git_processes(trace: Path) -> collections.Counter[str]:
    marker = "trace: built-in: git "
    return collections.Counter(line.split(marker, 1)[1].split()[0]
                               for line in trace.read_text(errors="replace").splitlines()
                               if marker in line)


def test_a_lane_run_to_review_starts_a_bounded_number_of_git_processes(
        sandbox: Sandbox, tmp_path: Path) -> None:
    trace = tmp_path / "git-trace.txt"
    sandbox.add_issue("GIT-1", script="""
        steps:
          - write: {path: note.txt, content: "a note\\n"}
          - commit: add a note
          - handoff: done
        """)
    sandbox.maestro("lane", "GIT-1", "--quiet", env={"GIT_TRACE": str(trace)})
    assert sandbox.outcome("GIT-1") == "waiting"
    counts = git_processes(trace)
    assert counts["maintenance"] == 0  # maestro's own git runs it once, at clean-up
    others = sum(n for name, n in counts.items() if name != "config")
    assert others <= BUDGET, sorted(counts.items())
