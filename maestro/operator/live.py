"""The live terminal view shown while the poll loop runs (``daemon``, ``run``, ``demo``).

It redraws from the same snapshot as ``maestro status`` plus the tail of the structured log,
so what the operator watches is exactly what a second terminal or the HTTP API would report;
the view never talks to the orchestrator. When stdout is not a terminal (a service manager,
a pipe, CI) there is nothing to redraw: the same events go out as plain log lines instead.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TextIO, cast

from rich import box
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from maestro.config.service import ServiceConfig
from maestro.fsutil import parse_json
from maestro.observability import logs
from maestro.operator.humanize import ago
from maestro.operator.status import snapshot
from maestro.operator.terminal_text import plain, visible_data

#: How many log events the view keeps at the bottom.
EVENTS_SHOWN = 8
#: Snapshots are cached this long: rich refreshes several times a second, lanes change slower.
SNAPSHOT_TTL_S = 0.5

_STYLE = {"finished": "green", "needs_human": "bold red", "waiting": "yellow",
          "retry": "magenta", "running": "bold cyan"}


def recent_events(config: ServiceConfig, count: int = EVENTS_SHOWN) -> list[dict[str, Any]]:
    """The last ``count`` INFO-or-higher records of the JSON log (a bounded tail read)."""
    path = logs.log_path(config)
    try:
        with path.open("rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - 64_000))
            tail = handle.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return []
    found: deque[dict[str, Any]] = deque(maxlen=count)
    for line in tail:
        try:
            record = parse_json(line)
        except ValueError:
            continue  # the first line of a tail read may be cut
        if isinstance(record, dict) and record.get("level") != "debug":
            found.append(record)
    return list(found)


#: Below this width the view leaves out the review, last event and tokens columns.
WIDE = 110


def _lanes_table(snap: dict[str, Any], width: int = WIDE) -> Table:
    wide = width >= WIDE
    try:
        tick = ago((snap.get("last_tick") or {}).get("at"),
                   datetime.fromisoformat(snap["generated_at"])) or "not yet"
    except (KeyError, ValueError):
        tick = "not yet"
    title = f"maestro · {snap['project_id']} · last tick {tick}"
    if snap.get("paused") is not None:
        title += " · PAUSED (no new lanes)"
    table = Table(expand=True, title_justify="left", title=title, box=box.SIMPLE_HEAD)
    columns = ("issue", "phase", "state", "try", *(("review", "last event") if wide else ()),
               "idle", *(("tokens",) if wide else ()), "why")
    for column in columns:
        table.add_column(column, overflow="fold",
                         no_wrap=column in ("issue", "phase", "state", "try", "idle"))
    for lane in snap["lanes"]:
        human = lane.get("needs_human") or {}
        state = "running" if lane["running"] else ("needs_human" if human
                                                   else lane.get("outcome") or "")
        review = (lane.get("review") or {}).get("classification") or ""
        why = human.get("reason") or ("" if lane["running"] else
                                      lane.get("wait_reason") or lane.get("reason") or "")
        idle = lane.get("idle_seconds")
        more = (review, lane.get("last_event_type") or "") if wide else ()
        tokens = (str((lane.get("tokens") or {}).get("totalTokens", "")),) if wide else ()
        table.add_row(lane["issue"], str(lane.get("phase") or ""),
                      Text(state, style=_STYLE.get(state, "")), str(lane.get("attempt") or ""),
                      *more, "" if idle is None else f"{idle:.0f} s", *tokens, plain(why))
    if not snap["lanes"]:
        table.add_row("—", "no lanes yet", *[""] * (len(columns) - 2))
    return table


def _retry_table(snap: dict[str, Any]) -> Table | Text:
    if not snap["retrying"]:
        return Text("retry queue: empty", style="dim")
    table = Table(title="retry queue", title_justify="left")
    for column in ("issue", "attempt", "kind", "due at", "error"):
        table.add_column(column)
    for item in snap["retrying"]:
        table.add_row(item["issue"], str(item["attempt"]), item["kind"], item["due_at"],
                      plain(item["error_class"]))
    return table


def _events(records: list[dict[str, Any]]) -> Text:
    text = Text("last events\n", style="bold")
    for record in records:
        when = str(record.get("ts", ""))[11:19]
        where = record.get("issue") or "-"
        phase = f" [{record['phase']}]" if record.get("phase") else ""
        style = "red" if record.get("level") in ("warning", "error") else ""
        text.append(f"{when} {where}{phase} {record.get('message', '')}\n", style=style)
    if not records:
        text.append("none yet\n", style="dim")
    return text


def render(snap: dict[str, Any], events: list[dict[str, Any]],
           width: int = WIDE) -> RenderableType:
    """The whole view for one snapshot, for a terminal ``width`` columns wide; a pure
    function, so tests can render it."""
    snap = cast(dict[str, Any], visible_data(snap))  # others' text is shown, not obeyed
    events = cast(list[dict[str, Any]], visible_data(events))
    totals = snap.get("token_totals") or {}
    tokens = Text("tokens: " + (", ".join(f"{k} {v}" for k, v in sorted(totals.items()))
                                or "none yet"), style="dim")
    return Group(_lanes_table(snap, width), _retry_table(snap), tokens, _events(events))


class LiveView:
    """A rich ``Live`` display fed by cached snapshots of the state root."""

    def __init__(self, config: ServiceConfig, console: Console | None = None) -> None:
        self.config = config
        self.console = console or Console()
        self._lock = threading.Lock()
        self._cached: tuple[float, RenderableType] | None = None
        self.live = Live(get_renderable=self.renderable, console=self.console,
                         refresh_per_second=2, transient=False, redirect_stdout=True,
                         redirect_stderr=True)

    def renderable(self) -> RenderableType:
        with self._lock:
            now = time.monotonic()
            if self._cached is None or now - self._cached[0] >= SNAPSHOT_TTL_S:
                try:
                    view = render(snapshot(self.config), recent_events(self.config),
                                  self.console.width)
                except Exception as exc:  # a half-written lane must not kill the display
                    view = Text(f"maestro: cannot read the state root: {exc}", style="red")
                self._cached = (now, view)
            return self._cached[1]

    def __enter__(self) -> LiveView:
        self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._cached = None
        self.live.__exit__(None, None, None)


@contextmanager
def watching(config: ServiceConfig, stream: TextIO | None = None,
             enabled: bool = True) -> Iterator[None]:
    """Show the live view while the body runs if ``stream`` is a terminal, else log lines.

    Structured logs go to the JSON file either way; only the console side changes.
    """
    stream = stream or sys.stdout
    if not enabled:
        logs.configure(config, console_level=logging.WARNING)
        yield
        return
    if not stream.isatty():
        logs.configure(config, console_level=logging.INFO)
        yield
        return
    logs.configure(config, console_level=logging.WARNING)
    with LiveView(config, Console(file=stream)):
        yield
