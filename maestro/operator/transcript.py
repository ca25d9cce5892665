"""The agent's story from a lane's ``journal.jsonl``: messages, tool calls, commands.

:func:`entries` turns journal records into what a person reads, oldest first: phase marks,
turns, the agent's messages and reasoning, tool calls with their results, commands with
their exit codes and output, file changes, errors and lane events. Protocol chatter
(``item/started``, deltas, token updates) is left out. The text is the agent's: renderers
escape every field. Pure apart from :func:`read_journal`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from maestro.fsutil import read_jsonl

#: Entries a page shows at most (the newest are kept).
MAX_ENTRIES = 400
_LANE_EVENTS = {"claimed", "attempt_failed", "crash", "guard_stop", "lane_reset",
                "rebuilt_from_tracker", "reconciled", "worktree_healed", "pr_validation",
                "control_files_changed", "agent_resumed_from_record", "repair_started",
                "approval_declined", "turn_failed", "agent_error", "halt"}


@dataclass(frozen=True)
class Entry:
    """One line of the story. ``kind``: phase, turn, message, reasoning, tool, command,
    files, event or error; ``ok``: a tool's or command's success when known."""

    at: str
    kind: str
    title: str
    body: str = ""
    ok: bool | None = None


def read_journal(lane_dir: Path) -> list[dict[str, Any]]:
    """The journal with its rotated part (``journal.jsonl.1``) first."""
    records: list[dict[str, Any]] = []
    for name in ("journal.jsonl.1", "journal.jsonl"):
        path = lane_dir / name
        if path.is_file():
            records.extend(read_jsonl(path))
    return records


def last_comment(lane_dir: Path) -> str | None:
    """The body of the agent's newest ``issue_comment`` (every attempt and repair round)."""
    newest: tuple[str, str] | None = None
    for record in sorted(lane_dir.glob("**/*tools.jsonl")):
        for entry in read_jsonl(record):
            if entry.get("tool") == "issue_comment" and entry.get("ok"):
                at, body = str(entry.get("at") or ""), (entry.get("args") or {}).get("body")
                if isinstance(body, str) and (newest is None or at >= newest[0]):
                    newest = (at, body)
    return newest[1] if newest else None


def _item_entry(at: str, record: dict[str, Any]) -> Entry | None:
    """An ``{"event": "item", ...}`` record
    (:func:`maestro.lanes.sessions.transcript.item_record`)."""
    kind = record.get("item")
    if kind == "message":
        return Entry(at, "message", "agent", str(record.get("text") or ""))
    if kind == "reasoning" and record.get("text"):
        return Entry(at, "reasoning", "reasoning", str(record["text"]))
    if kind == "command":
        code = record.get("exit_code")
        title = f"$ {record.get('command') or ''}" + ("" if code is None else f"  → exit {code}")
        return Entry(at, "command", title, str(record.get("output_tail") or ""),
                     ok=None if code is None else code == 0)
    if kind == "file_change":
        return Entry(at, "files", "changed files",
                     "\n".join(map(str, record.get("paths") or [])))
    return None


def _event_entry(at: str, record: dict[str, Any]) -> Entry:
    event = str(record.get("event"))
    details = {k: v for k, v in record.items() if k not in ("at", "event")}
    if event == "halt":
        return Entry(at, "event", f"stopped: {details.get('outcome')}",
                     str(details.get("reason") or ""), ok=details.get("outcome") != "failed")
    if event in ("turn_failed", "agent_error", "attempt_failed", "crash"):
        text = details.get("reason") or details.get("error") or details
        return Entry(at, "error", event.replace("_", " "), str(text), ok=False)
    body = ", ".join(f"{k}={v}" for k, v in sorted(details.items()))
    return Entry(at, "event", event.replace("_", " "), body)


def entries(journal: list[dict[str, Any]], limit: int = MAX_ENTRIES) -> list[Entry]:
    """The readable story of ``journal`` records, the newest ``limit`` entries."""
    found: list[Entry] = []
    turn = 0
    for record in journal:
        if not isinstance(record, dict):
            continue
        at, event = str(record.get("at") or ""), record.get("event")
        if event == "phase_done":
            found.append(Entry(at, "phase", f"phase {record.get('phase')} done"))
        elif event == "rpc":
            method = record.get("method")
            if method == "thread/started":
                turn = 0
            elif method == "turn/started":
                turn += 1
                found.append(Entry(at, "turn", f"turn {turn}"))
        elif event == "item":
            entry = _item_entry(at, record)
            if entry is not None:
                found.append(entry)
        elif event == "tool":
            found.append(Entry(at, "tool", f"tool {record.get('tool')}",
                               str(record.get("result") or ""), ok=bool(record.get("ok"))))
        elif event in _LANE_EVENTS:
            found.append(_event_entry(at, record))
    # Several processes append to one journal (lane phases, the agent session, validation):
    # order by time, keeping the journal's order within a second.
    found.sort(key=lambda entry: entry.at)
    return found[-limit:]
