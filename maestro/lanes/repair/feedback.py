"""The review feedback a repair round is about, read off a refreshed PR as a list of items.

Each item has a stable ``key`` (the same thread, check or reviewer gives the same key in
the next round), so a round can be compared with the one before
(:mod:`maestro.lanes.repair.repair_input`). What counts:

* a ``CHANGES_REQUESTED`` review on the current head; a ``COMMENTED`` review with text,
  when written on the current head or after the last push;
* every open review thread (neither resolved by a person nor outdated by the forge);
* PR conversation comments newer than the last push;
* failing checks, each marked required or optional (an optional one does not block the
  merge), with the failing tail of its log when the forge could read one;
* a merge conflict, with the files where the forge names them.

Duplicates are merged: a review whose text is the text of an inline thread (the local forge
and GitHub record an inline comment both ways) is shown once, as the thread, which carries
the file and line; the same comment twice is shown once.

Pure: a PR, the classifier's decision, the last push's time and the logs in; items out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from maestro.lanes.repair.classify import Decision
from maestro.model import CheckState, PullRequest, ReviewVerdict

__all__ = ["FeedbackItem", "collect", "render"]

#: Characters of a check's own summary shown when its log tail follows (the log says more).
SUMMARY_WITH_LOG = 500
SUMMARY_ALONE = 1500


@dataclass(frozen=True)
class FeedbackItem:
    """One thing the repair must address. ``key``: ``thread:<path>:<line>``,
    ``check:<name>``, ``review:<author>``, ``comment:<id>`` or ``conflict``; ``path``: the
    file it names ("" when none); ``text``: the line shown; ``detail``: evidence shown
    indented below it (a check's output)."""

    kind: str
    key: str
    text: str
    path: str = ""
    detail: str = ""


def _words(text: str) -> str:
    return " ".join(text.split()).casefold()


def _thread_texts(pr: PullRequest) -> set[str]:
    """Each open thread's comments, with and without GitHub's ``author: `` prefix."""
    texts = set()
    for thread in pr.threads:
        if not thread.is_open:
            continue
        texts.add(_words(thread.body))
        for line in thread.body.splitlines():
            texts.add(_words(line))
            texts.add(_words(line.partition(": ")[2]))
    return texts - {""}


def _newer(when: datetime | None, since: datetime | None) -> bool:
    if since is None or when is None:
        return since is None
    return when > since


def collect(pr: PullRequest, decision: Decision, since: datetime | None = None,
            logs: Mapping[str, str] | None = None) -> list[FeedbackItem]:
    """The open feedback on ``pr``; ``since``: the last push maestro made (None: all);
    ``logs``: a failing check's log tail by check name (:meth:`Forge.failing_check_logs`)."""
    items: list[FeedbackItem] = []
    inline = _thread_texts(pr)
    seen: set[str] = set()
    for review in pr.reviews:
        requested = review.verdict == ReviewVerdict.CHANGES_REQUESTED and review.commit == pr.head
        remarked = (review.verdict == ReviewVerdict.COMMENTED and review.body.strip()
                    and (review.commit == pr.head or _newer(review.submitted_at, since)))
        if not (requested or remarked) or _words(review.body) in inline | seen:
            continue
        seen.add(_words(review.body))
        what = "changes requested" if requested else "comment"
        items.append(FeedbackItem("review", f"review:{review.author}",
                                  f"review by {review.author} ({what}): "
                                  f"{review.body or '(no text)'}"))
    for comment in pr.comments:
        if not _newer(comment.created_at, since) or _words(comment.body) in inline | seen:
            continue
        seen.add(_words(comment.body))
        items.append(FeedbackItem("comment", f"comment:{comment.id or len(items)}",
                                  f"PR comment by {comment.author or 'someone'}: {comment.body}"))
    for thread in pr.threads:
        if thread.is_open:
            where = f"{thread.path}:{thread.line}" if thread.path else "general"
            items.append(FeedbackItem("thread", f"thread:{where}",
                                      f"unresolved thread at {where}: {thread.body}",
                                      path=thread.path))
    for check in pr.checks:
        if check.state != CheckState.FAILURE:
            continue
        log = (logs or {}).get(check.name, "")
        summary = check.summary[-(SUMMARY_WITH_LOG if log else SUMMARY_ALONE):]
        detail = "\n".join(part for part in (
            summary, f"failing tail of the job log:\n{log}" if log else "") if part)
        kind = "required" if check.required else "optional: it does not block the merge"
        items.append(FeedbackItem("check", f"check:{check.name}",
                                  f"failing check {check.name} ({kind})", detail=detail))
    if "conflict" in decision.feedback_kinds:
        items.append(FeedbackItem("conflict", "conflict",
                                  f"{pr.conflict}: merge or rebase the base branch into the "
                                  "lane branch and resolve the conflicts"))
    return items


def render(items: Sequence[FeedbackItem], notes: Mapping[str, str] | None = None) -> str:
    """The items as a Markdown list; ``notes``: a line under an item, by key."""
    lines = []
    for item in items:
        lines.append(f"- {item.text}")
        if note := (notes or {}).get(item.key):
            lines.append(f"  {note}")
        if item.detail:
            lines += [f"  {line}" if line else "" for line in item.detail.splitlines()]
    return "\n".join(lines) or "- (no details given)"
