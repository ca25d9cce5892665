"""``maestro logs ID``: one lane's story in the terminal, read from its folder alone.

The lane folder holds everything: ``journal.jsonl`` (claims, phases, the agent's protocol
events, its messages and commands, tool calls, halts), the phase targets, ``validation.json``,
``sessions.json``, the outcome. :func:`describe` turns one journal record into the line a
person reads (or None for protocol chatter only ``--json`` shows); :func:`summary` gathers
the lane's state; :func:`show_story` prints both, and with ``--follow`` keeps printing new
journal lines until the lane process ends (or Ctrl-C, which is a normal way to stop: exit 0).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from maestro.config.service import ServiceConfig
from maestro.errors import InputError
from maestro.fsutil import RECORD_READ_MAX_BYTES, parse_json, read_regular
from maestro.ids import check_identifier
from maestro.lanes.budgets import tokens as token_ledger
from maestro.lanes.record.state import PHASE_TARGETS, LaneState
from maestro.operator.terminal_text import markup_safe as escape

__all__ = ["JournalTail", "describe", "show_story", "summary"]

#: Seconds between two looks at the journal while following.
FOLLOW_POLL_S = 0.5
#: Protocol events worth a line of their own; every other ``rpc`` event is chatter.
_TURN_EVENTS = {"turn/started": "turn started", "turn/completed": "turn completed"}


def _one_line(text: Any, width: int = 200) -> str:
    flat = " ".join(("" if text is None else str(text)).split())
    return flat if len(flat) <= width else flat[:width - 1] + "…"


def describe(record: dict[str, Any]) -> str | None:
    """The rich-markup line for one journal record; None for records shown only as JSON."""
    event = str(record.get("event", ""))
    if event == "rpc":
        what = _TURN_EVENTS.get(str(record.get("method")))
        return f"[dim]{what}[/dim]" if what else None
    if event == "item":
        item = record.get("item")
        if item == "message":
            return f"[bold]agent[/bold]: {escape(_one_line(record.get('text'), 400))}"
        if item == "reasoning":
            return f"[dim]thinking: {escape(_one_line(record.get('text')))}[/dim]"
        if item == "command":
            code = record.get("exit_code")
            mark = "green" if code == 0 else "red"
            return (f"[cyan]$ {escape(_one_line(record.get('command')))}[/cyan] "
                    f"[{mark}]→ exit {code}[/{mark}]")
        if item == "file_change":
            return f"changed {escape(', '.join(map(str, record.get('paths') or [])))}"
        return None
    if event == "tool":
        ok = "[green]ok[/green]" if record.get("ok") else "[red]refused[/red]"
        return (f"tool [bold]{escape(str(record.get('tool')))}[/bold] {ok}: "
                f"{escape(_one_line(record.get('result'), 160))}")
    if event == "claimed":
        return f"[bold]claimed[/bold] attempt {record.get('attempt')} ({record.get('run_id')})"
    if event == "phase_done":
        return f"[green]✓ {escape(str(record.get('phase')))}[/green]"
    if event == "halt":
        style = {"needs_human": "bold red", "retry": "magenta", "waiting": "yellow"}.get(
            str(record.get("outcome")), "bold")
        return (f"[{style}]{escape(str(record.get('outcome')))}[/{style}] in "
                f"{escape(str(record.get('phase')))}: {escape(_one_line(record.get('reason')))}")
    if event.startswith("operator_"):
        return f"[bold yellow]operator[/bold yellow]: {escape(_one_line(record.get('message')))}"
    fields = ", ".join(f"{k}={_one_line(v, 80)}" for k, v in sorted(record.items())
                       if k not in ("at", "event") and v not in (None, "", [], {}))
    return escape(event.replace("_", " ") + (f": {fields}" if fields else ""))


def _phases(config: ServiceConfig, state: LaneState) -> list[str]:
    """Phases done as the pipeline judges them (target present and its ``done_when``)."""
    from maestro.pipeline.spec import load_pipeline, phase_done, pipeline_path

    spec = load_pipeline(pipeline_path(config))
    return [phase.name for phase in spec.phases if phase_done(state.dir, phase)]


def summary(config: ServiceConfig, state: LaneState) -> dict[str, Any]:
    """Where the lane stands: phases done, outcome, PR, validation commands, sessions and
    tokens; the same keys in text and in ``--json`` (its last line, ``event: summary``)."""
    validation = state.read("validation.json") or {}
    sessions = (state.read("sessions.json") or {}).get("sessions") or []
    return {
        "event": "summary",
        "issue": state.identifier,
        "claim": state.read("lease.json"),
        "phases_done": _phases(config, state),
        "outcome": state.read("outcome.json"),
        "needs_human": state.read("attention.json"),
        "pr": state.read("pr.json"),
        "validation": {"passed": validation.get("passed"), "head": validation.get("head"),
                       "commands": [{k: c.get(k) for k in ("command", "exit_code",
                                                          "duration_s")}
                                    for c in validation.get("commands") or []
                                    if isinstance(c, dict)]} if validation else None,
        "sessions": [{k: s.get(k) for k in ("session", "phase", "start_head", "end_head")}
                     for s in sessions if isinstance(s, dict)],
        "tokens": token_ledger.lane_total(state),
    }


def _render_summary(facts: dict[str, Any], out: Callable[[str], None]) -> None:
    done = facts["phases_done"]
    out("[bold]phases[/bold]: " + " → ".join(
        f"[green]{p}[/green]" if p in done else f"[dim]{p}[/dim]" for p in PHASE_TARGETS))
    if facts["pr"]:
        out(f"[bold]PR[/bold]: {escape(str(facts['pr'].get('url')))}")
    for command in (facts["validation"] or {}).get("commands", []):
        code = command.get("exit_code")
        mark = "green" if code == 0 else "red"
        out(f"[bold]validation[/bold]: {escape(str(command.get('command')))} "
            f"[{mark}]→ exit {code}[/{mark}]")
    if facts["sessions"]:
        out(f"[bold]sessions[/bold]: {len(facts['sessions'])} (" + ", ".join(
            str(s.get("phase")) for s in facts["sessions"]) + ")")
    total = (facts["tokens"] or {}).get("totalTokens")
    if total:
        out(f"[bold]tokens[/bold]: {total}")
    if facts["needs_human"]:
        record = facts["needs_human"]
        out(f"[bold red]needs a human[/bold red] ({escape(str(record.get('error_class')))}): "
            f"{escape(_one_line(record.get('reason'), 400))}")
    outcome = facts["outcome"] or {}
    if outcome:
        out(f"[bold]outcome[/bold]: {escape(str(outcome.get('outcome')))} in "
            f"{escape(str(outcome.get('phase') or '-'))}: "
            f"{escape(_one_line(outcome.get('reason'), 400))}")


@dataclass
class JournalTail:
    """Reads the journal from where it stopped; a rotation (``journal.jsonl.1``, the file
    starting over) is noticed by the file getting shorter, and read from its start."""

    path: Path
    offset: int = 0
    partial: bytes = field(default=b"")

    def read(self) -> Iterator[dict[str, Any]]:
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return
        if size < self.offset:
            self.offset, self.partial = 0, b""
        start = max(self.offset, size - RECORD_READ_MAX_BYTES)
        if start > self.offset:  # grown from outside past the bound: its newest part only
            self.partial = b""
        try:
            chunk = read_regular(self.path, start)
        except OSError:
            return
        self.offset = start + len(chunk)
        lines = (self.partial + chunk).split(b"\n")
        self.partial = lines.pop()  # an unfinished last line waits for the next read
        for line in lines:
            try:
                record = parse_json(line.decode("utf-8", "replace"))
            except ValueError:
                continue
            if isinstance(record, dict):
                yield record


def _history(state: LaneState) -> Iterator[dict[str, Any]]:
    rotated = state.path("journal.jsonl.1")
    if rotated.exists():
        yield from JournalTail(rotated).read()


def show_story(config: ServiceConfig, identifier: str, follow: bool = False,
               as_json: bool = False, console: Console | None = None) -> int:
    """Print the lane's story; with ``follow``, go on until its process ends. Exit 0."""
    state = LaneState(config.lanes_root, check_identifier(identifier))
    if not state.dir.is_dir():
        raise InputError(f"{identifier}: no lane (no folder {state.dir}); `maestro status` "
                         "lists the lanes")
    console = console or Console(highlight=False)

    def emit(record: dict[str, Any]) -> None:
        if as_json:
            console.out(json.dumps(record, sort_keys=True, default=str), highlight=False)
            return
        line = describe(record)
        if line is not None:
            at = str(record.get("at", ""))[11:19]
            console.print(f"[dim]{at}[/dim] {line}", soft_wrap=False)

    tail = JournalTail(state.path("journal.jsonl"))
    try:
        # Writers buffer differently (the agent session's journal vs. phase records), so
        # the history is put in time order; followed lines are shown as they come.
        for record in sorted([*_history(state), *tail.read()],
                             key=lambda r: str(r.get("at", ""))):
            emit(record)
        while follow and state.is_leased_elsewhere():
            time.sleep(FOLLOW_POLL_S)
            for record in tail.read():
                emit(record)
        for record in tail.read():
            emit(record)
    except KeyboardInterrupt:
        return 0  # Ctrl-C is how a person stops following
    facts = summary(config, state)
    if as_json:
        emit(facts)
    else:
        _render_summary(facts, console.print)
    return 0
