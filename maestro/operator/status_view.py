"""The text view of ``maestro status``: one rich table per question an operator asks.

Which lanes wait on a person and why (first: they are what needs acting on), what is
running now, what will be retried and when, which PRs wait on review and why, what
finished lately, and what it cost in tokens. Active lanes are never truncated; only the
recent runs follow ``--limit`` (the snapshot already cut them).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from maestro.ids import utc_now
from maestro.operator.humanize import ago, short_pr
from maestro.operator.terminal_text import plain, visible, visible_data


def signals_summary(signals: dict[str, Any] | None) -> str:
    """The review signals that decide a classification, in a few words."""
    if not signals:
        return ""
    parts = [f"approvals {signals.get('approvals', 0)}/{signals.get('required_approvals', 0)}"]
    if signals.get("changes_requested_on_head"):
        parts.append("changes requested")
    if signals.get("unresolved_threads"):
        parts.append(f"{signals['unresolved_threads']} open threads")
    if signals.get("checks_failed"):
        parts.append("checks failed: " + ", ".join(map(str, signals["checks_failed"])))
    if signals.get("checks_pending"):
        parts.append("checks pending: " + ", ".join(map(str, signals["checks_pending"])))
    if signals.get("conflict"):
        parts.append(f"conflict: {signals['conflict']}")
    if signals.get("mergeable") is False:
        parts.append("not mergeable")
    if signals.get("head") and signals.get("validated_head") and (
            signals["head"] != signals["validated_head"]):
        parts.append("head moved since validation")
    if signals.get("repair_rounds"):
        parts.append(f"repair {signals['repair_rounds']}/{signals.get('max_repair_rounds', '?')}")
    if signals.get("pr_state") and signals["pr_state"] != "open":
        parts.append(f"PR {signals['pr_state']}")
    return ", ".join(parts)


#: Below this width the tables leave out what the JSON keeps (run and thread ids, paths).
WIDE = 120


def _table(title: str, columns: tuple[str, ...]) -> Table:
    table = Table(title=title, title_justify="left", expand=False, box=box.SIMPLE_HEAD,
                  pad_edge=False)
    for column in columns:
        table.add_column(column, overflow="fold", no_wrap=column in NO_WRAP)
    return table


#: Short columns that must never break in the middle of a word.
NO_WRAP = frozenset({"issue", "attempt", "idle", "tokens", "since", "finished", "PR", "due"})


def _tokens(lane: dict[str, Any]) -> str:
    return str((lane.get("tokens") or {}).get("totalTokens", ""))


def _pr(url: str | None) -> Text:
    """``#12``, a terminal hyperlink to the PR where the terminal supports them."""
    return Text(short_pr(url), style=f"link {url}" if url else "")


def daemon_holds(snap: dict[str, Any]) -> list[dict[str, str]]:
    """The lanes the last tick held for a reason of its own (``held: …``), other than
    ``maestro pause``'s (shown once above): a lane whose processes kept ending without a
    record is held by the daemon until it restarts, and nothing else says so."""
    plan = (snap.get("last_tick") or {}).get("plan") or {}
    found = []
    for item in plan.get("waiting") or []:
        reason = str(item.get("reason", "")) if isinstance(item, dict) else ""
        if reason.startswith("held: ") and "paused" not in reason:
            found.append({"issue": visible(str(item.get("issue", ""))),
                          "reason": visible(reason.removeprefix("held: "))})
    return found


def render_status(snap: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    snap = cast(dict[str, Any], visible_data(snap))  # others' text is shown, not obeyed
    wide = console.width >= WIDE
    try:
        now = datetime.fromisoformat(snap["generated_at"])
    except (KeyError, ValueError):
        now = utc_now()
    tick = ago((snap.get("last_tick") or {}).get("at"), now) or "never"
    head = f"maestro · {snap['project_id']} · last tick {tick}"
    if wide:
        head += f" · {snap['generated_at']} · schema v{snap['schema_version']}"
    console.print(Text(head, style="bold"))
    paused = snap.get("paused")
    if paused is not None:
        since = (f"its marker is damaged: {paused['damaged']}" if paused.get("damaged")
                 else f"since {ago(paused.get('at'), now) or '?'}")
        console.print(Text(f"paused: no new lane starts ({since}); "
                           "running lanes go on; `maestro resume` releases", style="bold yellow"))
    for warning in snap.get("warnings", []):
        console.print(Text(f"warning: {warning}", style="yellow"))
    for item in daemon_holds(snap):
        console.print(Text(f"held by the daemon: {item['issue']}: {item['reason']}",
                           style="bold yellow"))
    limited = ((snap.get("last_tick") or {}).get("plan") or {}).get("rate_limit")
    if limited:
        console.print(Text(f"rate limited during the last tick: {limited['operation']} waited "
                           f"{limited['wait_s']:g}s ({limited['source']})", style="yellow"))

    if snap["needs_human"]:
        human = _table("needs a human", ("issue", "why", "reason", "since",
                                         *(("workspace",) if wide else ())))
        for lane in snap["needs_human"]:
            record = lane["needs_human"]
            why = str(record.get("error_class") or "") + (
                " (guarded)" if record.get("guarded") else "")
            where = (lane.get("workspace_path") or "",) if wide else ()
            human.add_row(lane["issue"], Text(why, style="bold red"),
                          plain(record.get("reason") or ""), ago(record.get("at"), now), *where)
        console.print(human)

    columns = ("issue", "phase", "attempt", *(("run", "thread") if wide else ()),
               "last event", "events", "idle", "tokens")
    active = _table(f"active lanes ({len(snap['active'])})", columns)
    for lane in snap["active"]:
        idle = lane.get("idle_seconds")
        ids = (lane.get("run_id") or "", lane.get("thread_id") or "") if wide else ()
        active.add_row(lane["issue"], str(lane.get("phase") or ""), str(lane.get("attempt") or ""),
                       *ids, lane.get("last_event_type") or "", str(lane.get("event_count") or 0),
                       "" if idle is None else f"{idle:.0f} s", _tokens(lane))
    console.print(active if snap["active"] else Text("active lanes: none running", style="dim"))

    if snap["retrying"]:
        retries = _table("retry queue", ("issue", "attempt", "kind", "due", "error", "reason"))
        for item in snap["retrying"]:
            due = ago(item["due_at"], now).replace(" ago", " overdue") or item["due_at"]
            if due == "in the future":
                due = f"at {str(item['due_at'])[11:19]}"
            retries.add_row(item["issue"], str(item["attempt"]), item["kind"], due,
                            plain(item["error_class"]), plain(item.get("reason") or ""))
        console.print(retries)

    if snap["in_review"]:
        review = _table("in review", ("issue", "classification", "reason", "signals", "PR"))
        for lane in snap["in_review"]:
            record = lane.get("review") or {}
            review.add_row(lane["issue"], Text(str(record.get("classification") or ""),
                                               style="yellow"),
                           plain(record.get("reason") or ""),
                           plain(signals_summary(record.get("signals"))), _pr(lane.get("pr_url")))
        console.print(review)

    waiting = [lane for lane in snap.get("retained", [])
               if not lane.get("needs_human") and lane not in snap["in_review"]]
    if waiting:
        kept = _table("retained lanes", ("issue", "phase", "outcome", "waiting on",
                                         *(("workspace",) if wide else ())))
        for lane in waiting:
            where = (lane.get("workspace_path") or "",) if wide else ()
            kept.add_row(lane["issue"], str(lane.get("phase") or ""), lane.get("outcome") or "",
                         plain(lane.get("wait_reason") or lane.get("reason") or ""), *where)
        console.print(kept)

    render_kept_work(snap, console, now)

    noted = [lane for lane in snap["lanes"] if lane.get("checkpoint")]
    if noted:
        marks = _table("latest agent checkpoint (skill execution-state)",
                       ("issue", "phase", "focus", "next action", "blockers"))
        for lane in noted:
            mark = lane["checkpoint"]
            marks.add_row(lane["issue"], plain(mark.get("phase") or ""),
                          plain(mark.get("focus") or ""), plain(mark.get("next_action") or ""),
                          plain("; ".join(str(b) for b in mark.get("blockers") or [])))
        console.print(marks)

    if snap["recent"]:
        recent = _table(f"recent runs (newest {len(snap['recent'])})",
                        ("issue", "finished", "attempt", "PR", "tokens", "result"))
        for lane in snap["recent"]:
            recent.add_row(lane["issue"], ago(lane.get("last_event_at"), now),
                           str(lane.get("attempt") or ""), _pr(lane.get("pr_url")),
                           _tokens(lane), Text(lane.get("reason") or "", style="green"))
        console.print(recent)

    totals = snap.get("token_totals") or {}
    console.print("tokens: " + (", ".join(f"{k}={v}" for k, v in sorted(totals.items()))
                                or "none yet"))
    render_budgets(snap, console)


def render_budgets(snap: dict[str, Any], console: Console) -> None:
    """The day's spend against ``max_tokens_per_day``, and every unfinished lane that has a
    per-issue ceiling: spent, ceiling, what is left (docs/guide/budgets.md)."""
    day = snap.get("budget") or {}
    if day.get("max_tokens_per_day") is not None:
        line = (f"budget today (UTC): {day['spent_today']:,} of {day['max_tokens_per_day']:,}"
                f" tokens, {day['remaining_today']:,} left")
        if day.get("holding_dispatch"):
            console.print(Text(line + " · ceiling reached: no new agent session starts",
                               style="bold red"))
        else:
            console.print(line)
    limited = [lane for lane in snap["lanes"] if lane.get("phase") != "finished"
               and (lane.get("budget") or {}).get("max_tokens_per_issue") is not None]
    if limited:
        table = _table("token budgets per issue", ("issue", "spent", "ceiling", "left"))
        for lane in limited:
            budget = lane["budget"]
            left = Text(f"{budget['remaining']:,}",
                        style="bold red" if budget["remaining"] == 0 else "")
            table.add_row(lane["issue"], f"{budget['spent']:,}",
                          f"{budget['max_tokens_per_issue']:,}", left)
        console.print(table)


#: How a person lets go of each kind of kept folder, once they have looked through it.
LET_GO = {"stopped": "move the issue back to Todo, then `maestro retry ID` moves it aside "
                     "for a fresh start; `git worktree remove --force PATH` deletes it",
          "kept": "`git worktree remove --force PATH` deletes it",
          "set_aside": "`rm -rf PATH` deletes it (git no longer knows it)"}


def render_kept_work(snap: dict[str, Any], console: Console, now: datetime) -> None:
    """The folders maestro kept for a person (:mod:`maestro.operator.kept_work`): what
    each holds, since when, and how to let go of it; maestro never removes them."""
    found = snap.get("kept_work") or []
    if not found:
        return
    table = _table(f"kept for a person ({len(found)}): maestro never removes these",
                   ("issue", "kind", "since", "where", "what"))
    table.columns[0].no_wrap = False  # a folder names the issue here: any length (F10)
    for item in found:
        table.add_row(plain(item["issue"]), item["kind"].replace("_", " "),
                      ago(item.get("since"), now), plain(item["path"]),
                      plain(item["detail"]))
    console.print(table)
    kinds = dict.fromkeys(item["kind"] for item in found)
    for kind in kinds:
        console.print(Text(f"{kind.replace('_', ' ')}: {LET_GO[kind]}", style="dim"))
