"""`maestro logs ID`: a lane's story from its folder, as text, JSON, and followed live."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import Sandbox

SAYS_RUNS_HANDS_OFF = """
steps:
  - say: "I will add a.txt"
  - say: "\\e]0;PWN\\a\\e[2J\\r[bold]✓ validate[/bold]"
  - write: {path: a.txt, content: "a\\n"}
  - run: "exit 3"
  - commit: "a"
  - handoff: "added a.txt"
"""


@pytest.fixture(scope="module")
def told(tmp_path_factory: pytest.TempPathFactory) -> Sandbox:
    """One lane run to review, shared by the read-only tests."""
    box = Sandbox(tmp_path_factory.mktemp("logs") / "sandbox")
    box.add_issue("LOG-1", SAYS_RUNS_HANDS_OFF)
    box.lane("LOG-1")
    return box


def test_the_story_shows_the_agents_messages(told: Sandbox) -> None:
    out = told.maestro("logs", "LOG-1", check=True).stdout
    assert "agent: I will add a.txt" in out


def test_an_agents_terminal_sequences_and_markup_are_shown_not_obeyed(told: Sandbox) -> None:
    out = told.maestro("logs", "LOG-1", check=True).stdout
    assert "\x1b" not in out and "\r" not in out
    assert "agent: ␛]0;PWN␇␛[2J [bold]✓ validate[/bold]" in out  # one line: CR is a space


def test_the_story_shows_each_command_with_its_exit_code(told: Sandbox) -> None:
    out = told.maestro("logs", "LOG-1", check=True).stdout
    assert "$ exit 3 → exit 3" in out


def test_the_story_shows_tool_calls_phases_and_the_outcome(told: Sandbox) -> None:
    out = told.maestro("logs", "LOG-1", check=True).stdout
    assert "tool lane_open_pr ok" in out and "✓ handoff" in out
    assert "outcome: waiting in review" in out.replace("\n", " ")


def test_json_is_one_object_a_line_ending_with_the_summary(told: Sandbox) -> None:
    lines = told.maestro("logs", "LOG-1", "--json", check=True).stdout.splitlines()
    records = [json.loads(line) for line in lines]
    assert {"event": "item", "item": "command", "command": "exit 3", "exit_code": 3}.items() \
        <= next(r for r in records if r.get("item") == "command").items()
    assert records[-1]["event"] == "summary"
    assert records[-1]["phases_done"][-1] == "handoff"


def test_an_unknown_lane_is_bad_input(told: Sandbox) -> None:
    proc = told.maestro("logs", "NOPE-1")
    assert proc.returncode == 2 and "NOPE-1: no lane" in proc.stderr


def test_follow_prints_until_the_lane_ends(sandbox: Sandbox) -> None:
    sandbox.add_issue("LOG-2", "steps:\n  - sleep: 2\n  - say: late words\n"
                               "  - attention: stop here\n")
    lane = subprocess.Popen([sys.executable, "-m", "maestro", "lane", "LOG-2", "--quiet"],
                            cwd=sandbox.repo, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        activity = sandbox.repo / ".maestro" / "lanes" / "LOG-2" / "activity.json"
        while not activity.exists() and lane.poll() is None:
            time.sleep(0.05)
        proc = sandbox.maestro("logs", "LOG-2", "--follow", timeout=60)
    finally:
        lane.wait(timeout=60)
    assert proc.returncode == 0
    assert "agent: late words" in proc.stdout and "outcome: needs_human" in proc.stdout


def test_ctrl_c_ends_following_quietly(sandbox: Sandbox) -> None:
    sandbox.add_issue("LOG-3", "steps:\n  - sleep: 20\n  - handoff: done\n")
    lane = subprocess.Popen([sys.executable, "-m", "maestro", "lane", "LOG-3", "--quiet"],
                            cwd=sandbox.repo, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        journal = sandbox.repo / ".maestro" / "lanes" / "LOG-3" / "journal.jsonl"
        while "turn/started" not in (journal.read_text() if journal.exists() else ""):
            time.sleep(0.05)
        follow = subprocess.Popen([sys.executable, "-m", "maestro", "logs", "LOG-3", "-f"],
                                  cwd=sandbox.repo, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        while "turn started" not in (line := follow.stdout.readline() if follow.stdout
                                     else ""):
            assert line, "the story never showed the running turn"
        follow.send_signal(signal.SIGINT)
        _, err = follow.communicate(timeout=30)
    finally:
        lane.kill()
        lane.wait()
    assert follow.returncode == 0 and "Traceback" not in err
