"""The text view of ``maestro status``: rich tables over the snapshot."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


def render_status(snap: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    table = Table(title=f"maestro · {snap['project_id']} · {snap['generated_at']}")
    for column in ("issue", "phase", "outcome", "attempt", "review", "last event", "tokens",
                   "why"):
        table.add_column(column, overflow="fold")
    for lane in snap["lanes"]:
        review = (lane.get("review") or {}).get("classification") or ""
        tokens = (lane.get("tokens") or {}).get("totalTokens", "")
        why = (lane.get("needs_human") or {}).get("reason") or lane.get("reason") or ""
        phase = lane["phase"] + (" ▶" if lane["running"] else "")
        table.add_row(lane["issue"], phase, lane.get("outcome") or "",
                      str(lane.get("attempt") or ""), review,
                      lane.get("last_event_type") or "", str(tokens), why)
    console.print(table)
    if snap["retrying"]:
        retries = Table(title="retry queue")
        for column in ("issue", "attempt", "kind", "due_at", "error"):
            retries.add_column(column)
        for item in snap["retrying"]:
            retries.add_row(item["issue"], str(item["attempt"]), item["kind"], item["due_at"],
                            item["error_class"])
        console.print(retries)
    noted = [lane for lane in snap["lanes"] if lane.get("checkpoint")]
    if noted:
        marks = Table(title="latest agent checkpoint (skill execution-state)")
        for column in ("issue", "phase", "focus", "next action", "blockers"):
            marks.add_column(column, overflow="fold")
        for lane in noted:
            mark = lane["checkpoint"]
            marks.add_row(lane["issue"], str(mark.get("phase") or ""), str(mark.get("focus") or ""),
                          str(mark.get("next_action") or ""),
                          "; ".join(str(b) for b in mark.get("blockers") or []))
        console.print(marks)
    totals = snap.get("token_totals") or {}
    if totals:
        console.print("tokens: " + ", ".join(f"{k}={v}" for k, v in sorted(totals.items())))
