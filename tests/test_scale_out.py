"""A lane moves across runners that share nothing but the tracker, the origin and the
forge: each fresh runner rebuilds the lane from maestro's comment blocks and resumes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

from maestro.lanes.record import comments
from tests.conftest import Sandbox

SCRIPT = """
steps:
  - write: {path: scaled.txt, content: "done on a runner\\n"}
  - commit: "scaled work"
  - comment: "progress from the agent"
  - handoff: "scaled work done"
"""


def fresh_runner(sandbox: Sandbox, root: Path) -> Path:
    """A new machine: a clone of origin with no .maestro folder; issues are shared."""
    repo = root / "repo"
    subprocess.run(["git", "clone", "-q", str(sandbox.origin), str(repo)], check=True)
    shutil.rmtree(repo / "issues")
    (repo / "issues").symlink_to(sandbox.repo / "issues")
    return repo


def run_doit(repo: Path, identifier: str, kill_at: str | None) -> int:
    env = dict(os.environ)
    if kill_at:
        env["MAESTRO_FAULT_KILL"] = kill_at
    proc = subprocess.run([sys.executable, "-m", "doit", f"lane:{identifier}"], cwd=repo,
                          capture_output=True, text=True, timeout=180, env=env)
    return proc.returncode


def test_a_lane_finishes_across_three_fresh_runners(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.add_issue("SC-1", script=SCRIPT)
    first = fresh_runner(sandbox, tmp_path / "runner-1")
    assert run_doit(first, "SC-1", "handoff:commented") == -9
    assert sandbox.issue("SC-1").state == "In Progress"

    second = fresh_runner(sandbox, tmp_path / "runner-2")
    assert run_doit(second, "SC-1", None) == 0
    assert sandbox.issue("SC-1").state == "In Review"
    sandbox.approve("SC-1")
    shutil.rmtree(second / ".maestro")  # the runner's state does not survive the job
    assert run_doit(second, "SC-1", "land:after") == -9
    assert sandbox.issue("SC-1").state == "In Review"

    third = fresh_runner(sandbox, tmp_path / "runner-3")
    assert run_doit(third, "SC-1", None) == 0

    issue = sandbox.issue("SC-1")
    assert issue.state == "Done"
    kinds = Counter((b["kind"], b["run_id"]) for b in comments.blocks(sandbox.comments("SC-1")))
    assert all(count == 1 for count in kinds.values()), kinds
    plain = [c.body for c in sandbox.comments("SC-1") if comments.block_of(c) is None]
    assert plain.count("progress from the agent") == 1
    pulls = list((sandbox.origin / "maestro-forge" / "pulls").glob("*.json"))
    assert len(pulls) == 1 and json.loads(pulls[0].read_text())["state"] == "merged"
    merges = [s for s in sandbox.origin_log() if s.startswith("Merge pull request")]
    assert len(merges) == 1
    assert sandbox.origin_file("scaled.txt") == "done on a runner\n"


def test_runner_killed_between_merge_and_closeout_resumes_elsewhere(
        sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.add_issue("SC-2", script=SCRIPT)
    first = fresh_runner(sandbox, tmp_path / "runner-1")
    assert run_doit(first, "SC-2", None) == 0
    sandbox.approve("SC-2")
    second = fresh_runner(sandbox, tmp_path / "runner-2")
    assert run_doit(second, "SC-2", "land:after") == -9
    third = fresh_runner(sandbox, tmp_path / "runner-3")
    assert run_doit(third, "SC-2", None) == 0
    assert sandbox.issue("SC-2").state == "Done"
    merges = [s for s in sandbox.origin_log() if s.startswith("Merge pull request")]
    assert len(merges) == 1
    blocks = comments.blocks(sandbox.comments("SC-2"))
    assert sum(b["kind"] == "closeout" for b in blocks) == 1
