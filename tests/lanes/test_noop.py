"""A finished lane's no-op run answers from its stamp, and only while the stamp still holds."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from maestro.config.service import parse_config_file
from maestro.lanes import noop
from maestro.model import LaneOutcome
from maestro.pipeline.files import default_pipeline_path
from maestro.pipeline.spec import load_pipeline, plain_phases
from tests.conftest import REPO_ROOT, Sandbox

LANE = "T-1"
#: The files a lane that went from claim to cleanup leaves (the facts with their keys).
FINISHED = {
    "lease.json": {"run_id": "r1", "attempt": 1},
    "workspace.json": {"path": "x"},
    "result.json": {"disposition": "review_handoff"},
    "validation.json": {"head": "abc", "passed": True},
    "pr.json": {"number": 1},
    "review.json": {"classification": "ready_to_land"},
    "merge.json": {"commit": "abc"},
    "closeout.json": {"state": "Done"},
    "cleanup.json": {"reason": "delivered"},
    "holder.json": {"pid": 1, "host": "h", "since": "s", "role": "lane"},
    "outcome.json": {"outcome": "finished", "phase": "cleanup", "reason": "done"},
}


class Project:
    """A project folder without git history: a config, a workflow and lanes (cheap)."""

    def __init__(self, repo: Path) -> None:
        self.repo = repo


@pytest.fixture
def project(tmp_path: Path) -> Project:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "maestro.toml").write_text('id = "t"\nstate_root = ".maestro"\n')
    shutil.copy(REPO_ROOT / "WORKFLOW.md", repo / "WORKFLOW.md")
    return Project(repo)


def finished_lane(sandbox: Sandbox | Project, identifier: str = LANE) -> Path:
    folder = sandbox.repo / ".maestro" / "lanes" / identifier
    (folder / "turns").mkdir(parents=True)
    for name, value in FINISHED.items():
        (folder / name).write_text(json.dumps(value))
    (folder / "turns" / "1.json").write_text("{}")
    shutil.copy(sandbox.repo / "WORKFLOW.md", folder / "workflow.snapshot.md")
    return folder


def stamp(sandbox: Project, identifier: str = LANE) -> None:
    """What the full run does for a lane it found finished."""
    config = parse_config_file(sandbox.repo / "maestro.toml")
    recorder = noop.Recorder(config, default_pipeline_path(), [identifier])
    recorder.record(identifier, plain_phases(load_pipeline(default_pipeline_path())))


def vouched(sandbox: Project) -> bool:
    return noop.check([LANE], None, sandbox.repo) is not None


@pytest.fixture
def stamped(project: Project) -> Project:
    finished_lane(project)
    stamp(project)
    assert vouched(project)
    return project


def test_a_stamped_finished_lane_is_vouched_for_with_the_pipeline_phases(
        stamped: Project) -> None:
    finished = noop.check([LANE], None, stamped.repo)
    assert finished is not None
    assert finished.lanes_root == stamped.repo.resolve() / ".maestro" / "lanes"
    assert [p["name"] for p in finished.phases][-1] == "cleanup"


def rewrite(path: Path) -> None:
    """Same bytes, same mtime: only the ctime (and maybe the inode) changes."""
    info = path.stat()
    path.write_bytes(path.read_bytes())
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))


CHANGES: dict[str, Callable[[Path, Path], None]] = {
    "marker rewritten with the same bytes and mtime": lambda repo, lane: rewrite(
        lane / "cleanup.json"),
    "corrupt marker": lambda repo, lane: (lane / "cleanup.json").write_text("{trunc"),
    "marker removed": lambda repo, lane: (lane / "cleanup.json").unlink(),
    "a new attention file": lambda repo, lane: (lane / "attention.json").write_text("{}"),
    "a turn added": lambda repo, lane: (lane / "turns" / "2.json").write_text("{}"),
    "snapshot edited": lambda repo, lane: (lane / "workflow.snapshot.md").write_text("+++"),
    "corrupt holder": lambda repo, lane: (lane / "holder.json").write_text(""),
    "config rewritten": lambda repo, lane: rewrite(repo / "maestro.toml"),
    "config state_root moved": lambda repo, lane: (repo / "maestro.toml").write_text(
        (repo / "maestro.toml").read_text().replace('".maestro"', '".other"')),
    "a repository pipeline appears": lambda repo, lane: (
        (repo / "pipelines").mkdir(), shutil.copy(default_pipeline_path(),
                                                  repo / "pipelines" / "lane.yaml")),
}


@pytest.mark.parametrize("change", list(CHANGES), ids=list(CHANGES))
def test_any_change_the_stamp_relied_on_sends_the_lane_to_the_full_run(
        stamped: Project, change: str) -> None:
    CHANGES[change](stamped.repo, stamped.repo / ".maestro" / "lanes" / LANE)
    assert not vouched(stamped)


def test_a_stamp_of_an_older_lane_of_the_same_issue_is_not_trusted(stamped: Project) -> None:
    """A lane reset and claimed again: same folder, same identifier, new files."""
    folder = stamped.repo / ".maestro" / "lanes" / LANE
    for name in ("cleanup.json", "closeout.json", "merge.json", "review.json"):
        (folder / name).unlink()
    (folder / "lease.json").write_text(json.dumps({"run_id": "r2", "attempt": 1}))
    for name in ("cleanup.json", "closeout.json", "merge.json", "review.json"):
        (folder / name).write_text(json.dumps(FINISHED[name]))
    assert not vouched(stamped)


def test_an_edited_pipeline_is_seen_by_the_next_run(project: Project,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    pipeline = project.repo / "custom.yaml"
    shutil.copy(default_pipeline_path(), pipeline)
    monkeypatch.setenv("MAESTRO_PIPELINE", str(pipeline))
    finished_lane(project)
    config = parse_config_file(project.repo / "maestro.toml")
    noop.Recorder(config, pipeline, [LANE]).record(
        LANE, plain_phases(load_pipeline(pipeline)))
    assert vouched(project)
    pipeline.write_text(pipeline.read_text() + "\n")
    assert not vouched(project)


def test_a_custom_target_outside_the_lane_json_files_is_still_checked(
        project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    pipeline = project.repo / "custom.yaml"
    pipeline.write_text(default_pipeline_path().read_text().replace(
        "target: cleanup.json", "target: notes.md"))
    monkeypatch.setenv("MAESTRO_PIPELINE", str(pipeline))
    folder = finished_lane(project)
    (folder / "notes.md").write_text("done")
    config = parse_config_file(project.repo / "maestro.toml")
    noop.Recorder(config, pipeline, [LANE]).record(LANE, plain_phases(load_pipeline(pipeline)))
    assert vouched(project)
    (folder / "notes.md").unlink()
    assert not vouched(project)


def test_a_lane_that_is_not_finished_is_never_stamped(project: Project) -> None:
    folder = finished_lane(project)
    (folder / "attention.json").write_text("{}")  # claim is not done while a person is asked
    stamp(project)
    assert not noop.stamp_path(project.repo / ".maestro", LANE).exists()


def test_a_file_changed_while_the_full_run_checked_is_not_stamped(project: Project) -> None:
    folder = finished_lane(project)
    config = parse_config_file(project.repo / "maestro.toml")
    recorder = noop.Recorder(config, default_pipeline_path(), [LANE])
    (folder / "review.json").write_text(json.dumps({"classification": "ready_to_land", "x": 1}))
    recorder.record(LANE, plain_phases(load_pipeline(default_pipeline_path())))
    assert not noop.stamp_path(project.repo / ".maestro", LANE).exists()


def test_a_stale_stamp_is_removed_by_the_full_run(stamped: Project) -> None:
    (stamped.repo / ".maestro" / "lanes" / LANE / "cleanup.json").unlink()
    stamp(stamped)
    assert not noop.stamp_path(stamped.repo / ".maestro", LANE).exists()


def test_the_finished_record_is_the_full_runs() -> None:
    assert noop.FINISHED_RECORD["outcome"] == LaneOutcome.FINISHED.value


def run(repo: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *argv], cwd=repo, capture_output=True, text=True,
                          timeout=120, check=False)


def test_doit_and_maestro_lane_say_the_same_from_the_stamp_as_without_it(
        sandbox: Sandbox) -> None:
    finished_lane(sandbox)
    stamp_file = noop.stamp_path(sandbox.repo / ".maestro", LANE)
    full = run(sandbox.repo, "-m", "doit", f"lane:{LANE}")
    assert stamp_file.exists(), full.stderr
    fast = run(sandbox.repo, "-m", "doit", f"lane:{LANE}")
    assert (fast.returncode, fast.stdout) == (full.returncode, full.stdout) == (
        0, "".join(f"-- {p}:{LANE}\n" for p in ("claim", "prepare", "agent", "validate",
                                                 "handoff", "review", "land", "closeout",
                                                 "cleanup")))
    answers = []
    for _ in range(2):  # from the stamp, then in full
        proc = run(sandbox.repo, "-m", "maestro", "lane", LANE, "--json")
        answers.append((proc.returncode, proc.stdout))
        stamp_file.unlink()
    assert answers[0] == answers[1]
    assert json.loads(answers[0][1])["outcome"] == "finished"  # stdout: the record alone
