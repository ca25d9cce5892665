"""`maestro issue` reads and edits the configured tracker from the command line."""

from __future__ import annotations

import json

from tests.conftest import Sandbox


def test_issue_new_list_show_move_comment(sandbox: Sandbox) -> None:
    created = json.loads(sandbox.maestro("issue", "new", "--title", "Add a flag", "--description",
                                         "Please.", "--label", "cli", "--priority", "2",
                                         "--json", check=True).stdout)
    identifier = created["identifier"]
    assert created["state"] == "Todo" and created["labels"] == ["cli"]
    listed = json.loads(sandbox.maestro("issue", "list", "--json", check=True).stdout)
    assert [i["identifier"] for i in listed] == [identifier]
    sandbox.maestro("issue", "move", identifier, "In Progress", check=True)
    sandbox.maestro("issue", "comment", identifier, "looking at it", check=True)
    shown = json.loads(sandbox.maestro("issue", "show", identifier, "--json", check=True).stdout)
    assert shown["state"] == "In Progress"
    assert shown["comments"][0]["body"] == "looking at it"
    text = sandbox.maestro("issue", "list", "--state", "In Progress", check=True).stdout
    assert identifier in text and "Add a flag" in text


def test_unknown_issue_is_a_clear_error(sandbox: Sandbox) -> None:
    proc = sandbox.maestro("issue", "show", "NOPE-1")
    assert proc.returncode == 2
    assert "NOPE-1" in proc.stderr and "Traceback" not in proc.stderr


def test_hostile_identifier_is_refused(sandbox: Sandbox) -> None:
    proc = sandbox.maestro("issue", "move", "../../etc", "Done")
    assert proc.returncode == 2
    assert "not usable as a lane name" in proc.stderr


def test_multiline_title_is_refused(sandbox: Sandbox) -> None:
    proc = sandbox.maestro("issue", "new", "--title", "two\nlines")
    assert proc.returncode == 2
    assert "one non-empty line" in proc.stderr


def test_issue_show_prints_an_agents_terminal_sequences_without_sending_them(
        sandbox: Sandbox) -> None:
    created = json.loads(sandbox.maestro("issue", "new", "--title", "Escapes", "--json",
                                         check=True).stdout)
    sandbox.maestro("issue", "comment", created["identifier"],
                    "done\x1b]0;PWN\x07\x1b[2J\u202e", check=True)
    out = sandbox.maestro("issue", "show", created["identifier"], check=True).stdout
    assert "\x1b" not in out and "\u202e" not in out
    assert "done␛]0;PWN␇␛[2J\ufffd" in out
