"""The dashboard and the lane page as server-rendered HTML. Pure: data in, markup out.

Every value that reaches the markup goes through :func:`esc` (text and attribute values),
and links are made only of ``http``/``https`` URLs (:func:`link`): lane data is partly
agent-written (transcripts, checkpoints, reasons) and must stay inert. The pages load
``/static/maestro.js``, which subscribes to ``/events`` and swaps in ``?partial=1``.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any
from urllib.parse import quote, urlsplit

from maestro.operator.humanize import ago, duration, parse_time, short_pr
from maestro.operator.timeline import Segment, svg
from maestro.operator.transcript import Entry


def esc(value: Any) -> str:
    """Text or attribute value, escaped (quotes too); ``None`` is empty."""
    return escape("" if value is None else str(value), quote=True)


def link(url: Any, text: Any | None = None) -> str:
    """An ``<a>`` for an http(s) URL; any other scheme (``javascript:``, ``local://``, a
    relative path) is shown as text only."""
    if not isinstance(url, str) or not url:
        return esc(text)
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        return esc(text or url)
    return f'<a href="{esc(url)}" rel="noreferrer noopener">{esc(text or url)}</a>'


def lane_href(identifier: str) -> str:
    return "/lanes/" + quote(identifier, safe="")


def page(title: str, main: str, *, lane: str | None = None) -> str:
    """The document around a page's ``<main>`` (also what ``?partial=1`` returns alone)."""
    data = f' data-lane="{esc(lane)}"' if lane else ""
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{esc(title)}</title><link rel="stylesheet" href="/static/maestro.css">'
            f'<script src="/static/maestro.js" defer></script></head>'
            f'<body{data}><header><a href="/">maestro</a> <span id="live">…</span>'
            f'<span id="flash" role="status"></span></header>'
            f'<main>{main}</main></body></html>\n')


def _table(cls: str, head: tuple[str, ...], rows: list[str], empty: str) -> str:
    cols = "".join(f"<th>{esc(h)}</th>" for h in head)
    body = "".join(rows) or f'<tr><td class="empty" colspan="{len(head)}">{esc(empty)}</td></tr>'
    return f'<table class="{cls}"><thead><tr>{cols}</tr></thead><tbody>{body}</tbody></table>'


def _tokens(tokens: dict[str, Any] | None) -> str:
    value = (tokens or {}).get("totalTokens")
    return f"{value:,}" if isinstance(value, int) else ""


def _budget(budget: dict[str, Any] | None) -> str:
    """``spent / max (remaining left)`` when a budget is known (i18b's per-lane field)."""
    if not isinstance(budget, dict) or budget.get("max_tokens_per_issue") is None:
        return ""
    return (f"{esc(budget.get('spent'))} / {esc(budget.get('max_tokens_per_issue'))} "
            f"({esc(budget.get('remaining'))} left)")


def _issue_cell(lane: dict[str, Any]) -> str:
    title = f'<span class="title">{esc(lane.get("title"))}</span>' if lane.get("title") else ""
    return (f'<td><a class="issue" href="{esc(lane_href(lane["issue"]))}">'
            f'{esc(lane["issue"])}</a> {title}</td>')


def _pr_cell(lane: dict[str, Any]) -> str:
    return f'<td>{link(lane.get("pr_url"), short_pr(lane.get("pr_url")))}</td>'


def _row(lane: dict[str, Any], now: datetime, *cells: str) -> str:
    extra = "".join(f"<td>{cell}</td>" for cell in cells)
    return (f'<tr data-issue="{esc(lane["issue"])}">{_issue_cell(lane)}{extra}'
            f'{_pr_cell(lane)}<td>{esc(ago(lane.get("last_event_at"), now))}</td></tr>')


def dashboard_main(snap: dict[str, Any], now: datetime) -> str:
    """Needs a human first, then running, retries, review, waiting, finished, totals."""
    tick = (snap.get("last_tick") or {}).get("at")
    parts = [f'<h1>{esc(snap["project_id"])}</h1><p class="meta">last tick '
             f'{esc(ago(tick, now) or "never")} · {len(snap["active"])} running · '
             f'{len(snap["needs_human"])} need a human · <button type="button" '
             f'id="refresh" data-action="/api/v1/refresh">tick now</button> '
             f'<button type="button" data-action="/api/v1/pause">pause</button> '
             f'<button type="button" data-action="/api/v1/resume">resume</button></p>']
    parts += [f'<p class="warning">{esc(w)}</p>' for w in snap.get("warnings", [])]
    human = [_row(lane, now, f'<span class="bad">{esc(lane["needs_human"].get("error_class"))}'
                  f'</span>', esc(lane["needs_human"].get("reason")),
                  esc(ago(lane["needs_human"].get("at"), now)))
             for lane in snap["needs_human"]]
    parts.append('<h2 id="needs-human">Needs a human</h2>' + _table(
        "lanes needs-human", ("issue", "why", "reason", "since", "PR", "last event"), human,
        "nobody is waited on"))
    running = [_row(lane, now, esc(lane.get("phase")), esc(lane.get("attempt")),
                    esc(lane.get("last_event_type")), _tokens(lane.get("tokens")),
                    _budget(lane.get("budget")))
               for lane in snap["active"]]
    parts.append("<h2>Running</h2>" + _table(
        "lanes running", ("issue", "phase", "attempt", "last event type", "tokens", "budget",
                          "PR", "last event"), running, "no lane is running"))
    lanes = {lane["issue"]: lane for lane in snap["lanes"]}
    retries = [_row(lanes.get(item["issue"], {"issue": item["issue"]}), now,
                    esc(item.get("attempt")), esc(item.get("kind")),
                    esc(_due(item.get("due_at"), now)), esc(item.get("reason")
                                                            or item.get("error_class")))
               for item in snap["retrying"]]
    parts.append("<h2>Retry queue</h2>" + _table(
        "retries", ("issue", "attempt", "kind", "due", "error", "PR", "last event"), retries,
        "no retries queued"))
    review = [_row(lane, now, esc((lane.get("review") or {}).get("classification")),
                   esc((lane.get("review") or {}).get("reason")))
              for lane in snap["in_review"]]
    parts.append("<h2>In review</h2>" + _table(
        "lanes in-review", ("issue", "review", "reason", "PR", "last event"), review,
        "no PR waits on review"))
    kept = [f'<tr><td>{esc(item["issue"])}</td><td>{esc(item["kind"].replace("_", " "))}'
            f'</td><td>{esc(ago(item.get("since"), now))}</td><td><code>{esc(item["path"])}'
            f'</code></td><td>{esc(item["detail"])}</td></tr>'
            for item in snap.get("kept_work") or []]
    if kept:  # only when there is some: most dashboards never show it
        parts.append('<h2 id="kept-work">Kept for a person</h2><p class="meta">maestro never '
                     'removes these folders: look through each, then delete it</p>' + _table(
                         "kept-work", ("issue", "kind", "since", "where", "what"), kept, ""))
    recent = [_row(lane, now, esc(lane.get("reason")), _tokens(lane.get("tokens")))
              for lane in snap["recent"]]
    parts.append("<h2>Finished lately</h2>" + _table(
        "lanes recent", ("issue", "result", "tokens", "PR", "finished"), recent,
        "nothing finished yet"))
    parts.append("<h2>Every lane</h2>" + _table(
        "lanes all", ("issue", "phase", "outcome", "PR", "last event"),
        [_row(lane, now, esc(lane.get("phase")), esc(_status_word(lane)))
         for lane in snap["lanes"]], "no lanes yet"))
    totals = snap.get("token_totals") or {}
    budget = snap.get("budget")
    parts.append('<p id="tokens">tokens: ' + (esc(" · ".join(
        f"{k} {v:,}" for k, v in sorted(totals.items()) if isinstance(v, int))) or "none yet")
        + (f" · budget {esc(_budget_line(budget))}" if isinstance(budget, dict) else "")
        + ' · <a href="/api/v1/state">JSON: /api/v1/state</a></p>')
    return "".join(parts)


def _budget_line(budget: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(budget.items()) if not isinstance(v, dict))


def _due(value: Any, now: datetime) -> str:
    moment = parse_time(value)
    if moment is None:
        return ""
    seconds = (moment - now).total_seconds()
    return "now" if seconds <= 0 else f"in {duration(seconds)}"


def _status_word(lane: dict[str, Any]) -> str:
    if lane.get("running"):
        return "running"
    if lane.get("needs_human"):
        return "needs_human"
    return str(lane.get("outcome") or "")


def next_action(lane: dict[str, Any]) -> str:
    """What a person does for a lane that waits on them, in one sentence."""
    record = lane.get("needs_human") or {}
    identifier = lane["issue"]
    if record.get("guarded"):
        return (f"Move {identifier} out of the in-progress state (or cancel it): a lane that "
                "was interrupted mid-change waits for a person to decide.")
    if record.get("error_class") == "manual_attention":
        return (f"Read the agent's comment on {identifier}, answer it or change the issue, "
                f"then remove the needs-attention label (or press retry).")
    return (f"Read the reason above and the transcript below, fix the cause, then remove the "
            f"needs-attention label from {identifier} (or press retry) to start afresh.")


def _timeline(found: list[Segment]) -> str:
    if not found:
        return '<p class="empty">no phase recorded yet</p>'
    rows = [f'<tr class="{esc(s.kind)}"><td><span class="swatch {esc(s.kind)}"></span>'
            f'{esc(s.label)}</td><td>{esc(duration(s.seconds))}</td>'
            f'<td>{esc(s.start.isoformat(timespec="seconds"))}</td></tr>' for s in found]
    return svg(found) + _table("timeline", ("phase", "took", "from"), rows, "")


def _transcript(found: list[Entry]) -> str:
    if not found:
        return '<p class="empty">no transcript yet</p>'
    items = []
    for entry in found:
        state = "" if entry.ok is None else (" ok" if entry.ok else " failed")
        body = f"<pre>{esc(entry.body)}</pre>" if entry.body else ""
        items.append(f'<li class="entry {esc(entry.kind)}{state}"><time>{esc(entry.at[11:19])}'
                     f'</time> <b>{esc(entry.title)}</b>{body}</li>')
    return f'<ol class="transcript">{"".join(items)}</ol>'


def _validation(record: dict[str, Any] | None) -> str:
    if not record:
        return '<p class="empty">not validated yet</p>'
    head = (f'<p>{"passed" if record.get("passed") else "failed"} at '
            f'{esc(record.get("ran_at"))} on {esc(str(record.get("head") or "")[:12])}'
            f'{" (cached)" if record.get("cached") else ""}</p>')
    rows = [f'<li class="entry command {"ok" if c.get("exit_code") == 0 else "failed"}">'
            f'<b>$ {esc(c.get("command"))}</b> → exit {esc(c.get("exit_code"))} in '
            f'{esc(duration(c.get("duration_s")))}<pre>{esc(c.get("output_tail"))}</pre></li>'
            for c in record.get("commands") or [] if isinstance(c, dict)]
    return head + f'<ol class="transcript">{"".join(rows)}</ol>'


def _pr_state(lane: dict[str, Any], merge: dict[str, Any] | None) -> str:
    if merge:
        return f"merged ({esc(merge.get('method'))}) {esc(str(merge.get('commit') or '')[:12])}"
    review = lane.get("review") or {}
    signals = review.get("signals") or {}
    words = [str(signals.get("pr_state") or "open")] if lane.get("pr_url") else []
    if review.get("classification"):
        words.append(f"{review['classification']}: {review.get('reason') or ''}")
    return esc(" · ".join(words))


def lane_main(lane: dict[str, Any], now: datetime, *, found: list[Segment],
              story: list[Entry], validation: dict[str, Any] | None,
              merge: dict[str, Any] | None, said: str | None = None) -> str:
    """The lane page: header, actions, a needs-human box, timeline, checkpoint, budget,
    validation and the transcript."""
    identifier = lane["issue"]
    target = quote(identifier, safe="")
    parts = [f'<h1><span class="issue">{esc(identifier)}</span> '
             f'<span class="title">{esc(lane.get("title"))}</span></h1>',
             f'<p class="meta">{link(lane.get("issue_url"))} · phase '
             f'<b>{esc(lane.get("phase"))}</b> · {esc(_status_word(lane))} · attempt '
             f'{esc(lane.get("attempt"))} · last event {esc(ago(lane.get("last_event_at"), now))}'
             f'</p>',
             f'<p class="pr">PR: {link(lane.get("pr_url")) or "none yet"} '
             f'<span class="pr-state">{_pr_state(lane, merge)}</span></p>',
             f'<p class="actions"><button type="button" data-action="/api/v1/{esc(target)}/retry">'
             f'retry</button> <button type="button" data-action="/api/v1/{esc(target)}/cancel">'
             f'cancel</button></p>']
    if lane.get("needs_human"):
        record = lane["needs_human"]
        parts.append(f'<section class="needs-human"><h2>Needs a human</h2><p><b>'
                     f'{esc(record.get("error_class"))}</b>: {esc(record.get("reason"))} '
                     f'({esc(ago(record.get("at"), now))})</p><p class="next-action">Next: '
                     f'{esc(next_action(lane))}</p>'
                     + (f'<p>The agent\'s last comment:</p><pre class="said">{esc(said)}</pre>'
                        if said else "") + '</section>')
    parts.append("<h2>Timeline</h2>" + _timeline(found))
    mark = lane.get("checkpoint")
    if mark:
        blockers = "; ".join(str(b) for b in mark.get("blockers") or [])
        parts.append(f'<h2>Latest checkpoint</h2><dl class="checkpoint"><dt>phase</dt><dd>'
                     f'{esc(mark.get("phase"))}</dd><dt>focus</dt><dd>{esc(mark.get("focus"))}'
                     f'</dd><dt>next action</dt><dd>{esc(mark.get("next_action"))}</dd>'
                     f'<dt>verification</dt><dd>{esc(mark.get("verification"))}</dd>'
                     f'<dt>blockers</dt><dd>{esc(blockers or "none")}</dd><dt>posted</dt><dd>'
                     f'{esc(ago(mark.get("posted_at"), now))}</dd></dl>')
    tokens = ", ".join(f"{k} {v:,}" for k, v in sorted((lane.get("tokens") or {}).items())
                       if isinstance(v, int)) or "none yet"
    budget = _budget(lane.get("budget"))
    parts.append(f'<h2>Tokens and budget</h2><p class="tokens">{esc(tokens)}'
                 f'{" · budget " + budget if budget else ""}</p>')
    parts.append("<h2>Validation</h2>" + _validation(validation))
    parts.append("<h2>Transcript</h2>" + _transcript(story))
    return "".join(parts)
