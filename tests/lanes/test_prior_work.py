"""A session that resumes a killed one is told what the killed one already committed."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from maestro.agents.scripted import RESUME_MARKER
from maestro.lanes.sessions.prior_work import LIST_LIMIT, MARKER, PriorWork, resume_note
from tests.conftest import Sandbox


def test_no_earlier_work_gives_no_note() -> None:
    assert resume_note(PriorWork()) == ""


def test_the_note_names_each_commit_of_the_earlier_session() -> None:
    note = resume_note(PriorWork(commits=(("abc1234", "readme: add a line"),
                                          ("def5678", "tests: cover it"))))
    assert MARKER in note
    assert "- abc1234 readme: add a line\n- def5678 tests: cover it" in note
    assert "do not redo it" in note


def test_uncommitted_changes_alone_give_a_note() -> None:
    note = resume_note(PriorWork(dirty=True))
    assert MARKER in note and "uncommitted changes" in note


def test_a_long_history_is_cut_with_a_count() -> None:
    commits = tuple((f"{n:07x}", f"step {n}") for n in range(LIST_LIMIT + 5))
    note = resume_note(PriorWork(commits=commits))
    assert f"step {LIST_LIMIT - 1}" in note and f"step {LIST_LIMIT}\n" not in note
    assert "and 5 more" in note


def test_the_scripted_agent_recognises_the_note() -> None:
    assert RESUME_MARKER == MARKER


def test_an_agent_killed_after_its_commit_is_not_redone_on_resume(
        sandbox: Sandbox, tmp_path: Path) -> None:
    inputs = tmp_path / "inputs.txt"
    sandbox.add_issue("PW-1", script=f"""
steps:
  - append: {{path: NOTES.md, content: "one line\\n"}}
  - commit: "notes: add one line"
  - save_input: {inputs}
  - sleep: 60
  - handoff: "added the line"
""")
    lane = subprocess.Popen([sys.executable, "-m", "maestro", "lane", "PW-1", "--quiet"],
                            cwd=sandbox.repo)
    deadline = time.monotonic() + 120
    while not inputs.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    lane.kill()  # SIGKILL after the commit, mid-session
    lane.wait()
    script = sandbox.repo / "issues" / "PW-1.md"
    script.write_text(script.read_text().replace("  - sleep: 60\n", ""))

    sandbox.lane("PW-1")

    first, second = inputs.read_text().split("\n---\n")[:2]
    assert MARKER not in first
    assert MARKER in second and "notes: add one line" in second
    branch = sandbox.lane_file("PW-1", "workspace.json")["branch"]
    notes = subprocess.run(["git", "show", f"{branch}:NOTES.md"], cwd=sandbox.repo,
                           capture_output=True, text=True, check=True).stdout
    assert notes == "one line\n"


def _kill_when(path: Path, identifier: str, sandbox: Sandbox) -> None:
    """Run the lane until the script wrote ``path`` (after its commit), then SIGKILL it."""
    lane = subprocess.Popen([sys.executable, "-m", "maestro", "lane", identifier, "--quiet"],
                            cwd=sandbox.repo)
    deadline = time.monotonic() + 120
    while not path.exists() and time.monotonic() < deadline and lane.poll() is None:
        time.sleep(0.1)
    lane.kill()
    lane.wait()


def test_a_repair_killed_after_its_commit_is_not_redone_on_resume(
        sandbox: Sandbox, tmp_path: Path) -> None:
    inputs = tmp_path / "repair-inputs.txt"
    sandbox.add_issue("PW-2", script=f"""
steps:
  - write: {{path: feature.txt, content: "feature\\n"}}
  - commit: "add feature"
  - handoff: "feature added"
repair:
  - append: {{path: feature.txt, content: "reviewed\\n"}}
  - commit: "address review"
  - save_input: {inputs}
  - sleep: 60
  - repair_complete: "review addressed"
""")
    sandbox.lane("PW-2")
    assert sandbox.outcome("PW-2") == "waiting"
    sandbox.maestro("review", "request-changes", "PW-2", "--comment", "mark it", check=True)
    _kill_when(inputs, "PW-2", sandbox)
    script = sandbox.repo / "issues" / "PW-2.md"
    script.write_text(script.read_text().replace("  - sleep: 60\n", ""))

    sandbox.lane("PW-2")

    first, second = inputs.read_text().split("\n---\n")[:2]
    assert MARKER not in first
    assert MARKER in second and "address review" in second
    branch = sandbox.lane_file("PW-2", "workspace.json")["branch"]
    feature = subprocess.run(["git", "show", f"{branch}:feature.txt"], cwd=sandbox.repo,
                             capture_output=True, text=True, check=True).stdout
    assert feature == "feature\nreviewed\n"
