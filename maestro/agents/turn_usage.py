"""A turn's tokens as counted while it runs: never less than what was seen, never negative.

Claude Code reports a turn's usage in its ``result`` event, at the end; an ACP agent in its
``PromptResponse``. A turn that never gets there (the agent killed by its own shell command,
by an OOM, by ``turn_timeout_s``) used to count nothing, and its turns are the longest and
the most expensive. And the stream maestro reads is written by the agent's process, which
any process of the agent (its shell tool) can write to as well (``/proc/<pid>/fd/1``, same
user): a forged ``result`` with a small or negative ``usage`` lowered the lane's ledger,
and through it the service's daily spend.

So a turn is counted as it goes, from the figures each model request carries (Claude
Code's ``assistant`` events: ``message.usage``, one entry per message id, as every content
block of a message repeats it), and its final report can only raise the count
(:meth:`TurnUsage.counts` is the larger of the two, key by key). Every figure is a
non-negative integer or nothing (:func:`counts_of`). A turn still under-counts what the
agent spent after the last line maestro read; a forged final report can raise the count
(the agent's own budget is spent sooner), never lower it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["KEYS", "TurnUsage", "capped_growth", "counts_of", "figure", "grown", "plus"]

KEYS = ("inputTokens", "outputTokens", "totalTokens")


#: The most tokens one figure of one report may count: more than any model's context
#: window and output together. A line forged into the agent's stream with 10^15 tokens
#: would otherwise hold every lane's dispatch under ``max_tokens_per_day`` for the day.
MAX_FIGURE = 10_000_000


def figure(value: Any, limit: int | None = MAX_FIGURE) -> int:
    """A reported figure: a non-negative int, at most ``limit`` (one request's figures:
    :data:`MAX_FIGURE`; None for running totals, which grow past it), else 0 (bools,
    strings, negatives)."""
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        return 0
    return value if limit is None else min(value, limit)


def counts_of(usage: Any) -> dict[str, int]:
    """An Anthropic-style ``usage`` (``input_tokens``, ``cache_creation_input_tokens``,
    ``cache_read_input_tokens``, ``output_tokens``) in the ledger's names; ``{}`` for
    anything that is not a mapping. Cached prompt tokens count as input, as Codex counts
    them."""
    if not isinstance(usage, Mapping):
        return {}
    prompt = (figure(usage.get("input_tokens")) + figure(usage.get("cache_creation_input_tokens"))
              + figure(usage.get("cache_read_input_tokens")))
    output = figure(usage.get("output_tokens"))
    return {"inputTokens": prompt, "outputTokens": output, "totalTokens": prompt + output}


def grown(first: Mapping[str, int], second: Mapping[str, int]) -> dict[str, int]:
    """Key by key, the larger of two counts (a key missing from one counts 0 there)."""
    return {key: max(first.get(key, 0), second.get(key, 0)) for key in {*first, *second}}


def capped_growth(before: Mapping[str, int], after: Mapping[str, int]) -> dict[str, int]:
    """Running totals ``after`` a report, each at most :data:`MAX_FIGURE` above ``before``:
    one report follows one model request, so a total that jumps further was forged into
    the agent's stream (a Codex ``thread/tokenUsage/updated`` with 10^15 tokens)."""
    return {key: min(value, before.get(key, 0) + MAX_FIGURE) for key, value in after.items()}


def plus(first: Mapping[str, int], second: Mapping[str, int]) -> dict[str, int]:
    """Key by key, the sum of two counts."""
    return {key: first.get(key, 0) + second.get(key, 0) for key in {*first, *second}}


class TurnUsage:
    """Feed every event of one turn to :meth:`see`; :meth:`counts` is the turn's count so
    far."""

    def __init__(self) -> None:
        self.requests: dict[str, dict[str, int]] = {}  # message id -> its usage
        self.reported: dict[str, int] = {}  # the turn's own final report(s)

    def see(self, event: Mapping[str, Any]) -> None:
        """One Claude Code stream-json event; those without usage change nothing."""
        kind = event.get("type")
        if kind == "assistant":
            message = event.get("message")
            if not isinstance(message, Mapping):
                return
            counts = counts_of(message.get("usage"))
            if counts:
                key = str(message.get("id") or f"#{len(self.requests)}")
                self.requests[key] = grown(self.requests.get(key, {}), counts)
        elif kind == "result":
            self.reported = grown(self.reported, counts_of(event.get("usage")))

    def counts(self) -> dict[str, int]:
        seen: dict[str, int] = {}
        for counts in self.requests.values():
            seen = plus(seen, counts)
        return grown(seen, self.reported)
