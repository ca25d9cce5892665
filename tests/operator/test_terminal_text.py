"""Text others wrote is shown on the operator's terminal, never obeyed by it."""

from __future__ import annotations

import io
from typing import Any

import pytest
from rich.console import Console

from maestro.operator.live import render
from maestro.operator.status_view import render_status
from maestro.operator.terminal_text import markup_safe, visible

HOSTILE = "\x1b]52;c;cm0gLXJmIH4=\x07\x1b[2J\rfake ✓ validate\u202egnp.exe\x9b31m"


@pytest.mark.parametrize(("text", "shown"), [
    ("\x1b[2J", "␛[2J"),
    ("\x1b]0;title\x07", "␛]0;title␇"),
    ("over\rwrite", "over␍write"),
    ("nul\x00del\x7f", "nul␀del␡"),
    ("csi\x9b31m", "csi\ufffd31m"),
    ("bidi\u202eexe.txt\u2066", "bidi\ufffdexe.txt\ufffd"),
    ("tab\tand\nnewline stay", "tab\tand\nnewline stay"),
    ("plain text, é and 🎉", "plain text, é and 🎉"),
], ids=repr)
def test_control_characters_are_shown_by_a_stand_in_of_the_same_length(
        text: str, shown: str) -> None:
    assert visible(text) == shown
    assert len(visible(text)) == len(text)


def test_markup_in_others_text_is_escaped() -> None:
    console = Console(file=io.StringIO(), width=200)
    said = markup_safe("[red]fake[/red] \x1b[2J")
    console.print(f"[bold]agent[/bold]: {said}")
    assert console.file.getvalue() == "agent: [red]fake[/red] ␛[2J\n"  # type: ignore[attr-defined]


def snapshot_with(reason: str) -> dict[str, Any]:
    lane = {"issue": "T-1", "phase": "agent", "running": False, "outcome": "needs_human",
            "attempt": 1, "needs_human": {"error_class": "x", "reason": reason,
                                          "at": "2026-11-30T12:00:00+00:00"},
            "checkpoint": {"phase": "p", "focus": reason, "next_action": reason,
                           "blockers": [reason]}}
    return {"generated_at": "2026-11-30T12:00:00+00:00", "schema_version": 1,
            "project_id": "p", "lanes": [lane], "needs_human": [lane], "active": [],
            "retrying": [{"issue": "T-2", "attempt": 2, "kind": "failure",
                          "due_at": "2026-11-30T12:00:00+00:00", "error_class": reason,
                          "reason": reason}],
            "in_review": [], "retained": [lane], "recent": [], "token_totals": {},
            "warnings": [reason]}


def terminal_output(draw: Any) -> str:
    console = Console(file=io.StringIO(), force_terminal=True, width=300)
    draw(console)
    return console.file.getvalue()  # type: ignore[no-any-return, attr-defined]


def test_status_shows_an_agents_sequences_without_sending_them() -> None:
    out = terminal_output(lambda console: render_status(snapshot_with(HOSTILE), console))
    assert "\x1b]52" not in out and "\x1b[2J" not in out and "\r" not in out
    assert "\u202e" not in out and "\x9b" not in out
    assert "␛]52;c;cm0gLXJmIH4=␇" in out


def test_the_live_view_shows_an_agents_sequences_without_sending_them() -> None:
    events = [{"ts": "2026-11-30T12:00:00", "issue": "T-1", "message": HOSTILE}]
    out = terminal_output(lambda console: console.print(render(snapshot_with(HOSTILE), events)))
    assert "\x1b]52" not in out and "\x1b[2J" not in out and "\r" not in out
    assert "␛[2J" in out
