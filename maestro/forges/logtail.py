"""A CI log made fit for an agent's repair input: its failing tail, whole lines, no secrets.

A job log is long and its cause is near the end (the failing step, then the runner's
clean-up). The agent gets the last lines that fit in ``max_chars``, cut at line
boundaries so no line starts mid-word, with GitHub's per-line timestamps removed (they
cost room and say nothing about the failure). Before it leaves maestro, the text is
redacted: GitHub token shapes (``ghp_``, ``gho_``, ``ghu_``, ``ghs_``, ``ghr_``,
``github_pat_``), ``Bearer``/``Basic`` credentials, and every secret value maestro itself
holds (its own token), because the agent holds no credential and must not get one from a
log that echoed it.

Pure functions: text in, text out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["REDACTED", "failing_tail", "redact"]

REDACTED = "[redacted]"
#: GitHub's token prefixes (classic, OAuth, user-to-server, server-to-server, refresh) and
#: fine-grained personal access tokens.
_TOKEN = re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{16,}|github_pat_[A-Za-z0-9_]{20,})")
#: ``Bearer``/``Basic`` and a credential-looking value: 8+ characters with a digit, or 20+
#: (so "Basic authentication failed" stays readable).
_AUTH = re.compile(r"\b(Bearer|Basic)(\s+)(?:(?=[\w.~+/=-]*\d)[\w.~+/=-]{8,}|[\w.~+/=-]{20,})",
                   re.IGNORECASE)
#: ``2026-11-30T03:45:30.1234567Z `` at the start of each line of an Actions log.
_STAMP = re.compile(r"^\ufeff?\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z ", re.MULTILINE)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` without credentials: token shapes, ``Bearer …``/``Basic …`` values and each
    of ``secrets`` (exact values; empty or very short ones are ignored) become
    :data:`REDACTED`."""
    for secret in sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    text = _TOKEN.sub(REDACTED, text)
    return _AUTH.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)


def failing_tail(log: str, max_chars: int = 4000) -> str:
    """The last whole lines of ``log`` that fit in ``max_chars`` (timestamps dropped,
    trailing blank lines dropped). A single last line longer than the bound keeps its end:
    some text beats none."""
    lines = _STAMP.sub("", log.replace("\r\n", "\n")).rstrip().split("\n")
    kept: list[str] = []
    size = 0
    for line in reversed(lines):
        if size + len(line) + 1 > max_chars:
            if not kept:
                kept.append(line[-max_chars:])
            break
        kept.append(line)
        size += len(line) + 1
    return "\n".join(reversed(kept))
