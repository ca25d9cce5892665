"""Origin's branch heads as this lane process last read them, so a fetch that would change
nothing is not made.

The claim's preflight asks the remote for the base branch (``git ls-remote``, a live read,
through gitguard's environment like every git call) a moment before prepare fetches it.
When the remote-tracking ref already holds exactly that commit, the fetch would only
rewrite the ref with the value it has (the objects are there: the ref points at them), so
prepare skips it. An answer is used once, by the first fetch after it, for at most
:data:`FRESH_S` seconds, and lives only in this process's memory: a later phase, a resumed
lane, another process (or ``maestro doctor``'s own read) fetches as before.

The same ``ls-remote`` asks for the lane branch too. When origin has none (a new lane),
prepare does not fetch it (the fetch would find nothing and change nothing: four git
processes, ``fetch``, the ``sh`` that starts ``upload-pack``, ``upload-pack`` and the
remote-URL look-up); the same once-only, :data:`FRESH_S` rule applies. When origin has it
(another runner pushed it), prepare fetches it as before.
"""

from __future__ import annotations

import time
from pathlib import Path

from maestro.git import listed_head

#: An answer older than this (monotonic seconds) is not used: the fetch happens.
FRESH_S = 5.0

#: ``(repo root, remote, branch) -> (when, commit)``; commit ``""``: origin had no such branch.
_answers: dict[tuple[Path, str, str], tuple[float, str]] = {}


def remember(repo_root: Path, remote: str, branch: str, ls_remote_output: str) -> None:
    """Keep the commit ``git ls-remote REMOTE refs/heads/BRANCH`` printed, or that it
    printed none (the remote has no such branch)."""
    _answers[(repo_root, remote, branch)] = (time.monotonic(),
                                             listed_head(ls_remote_output, branch) or "")


def _take(repo_root: Path, remote: str, branch: str) -> str | None:
    answer = _answers.pop((repo_root, remote, branch), None)
    if answer is None or time.monotonic() - answer[0] > FRESH_S:
        return None
    return answer[1]


def take(repo_root: Path, remote: str, branch: str) -> str | None:
    """The remembered commit of ``remote``'s ``branch`` if read within :data:`FRESH_S`
    seconds (None when unknown, stale, or the branch was absent); forgotten as it is
    handed out."""
    return _take(repo_root, remote, branch) or None


def take_absent(repo_root: Path, remote: str, branch: str) -> bool:
    """Whether ``remote`` had no ``branch`` when read within :data:`FRESH_S` seconds;
    the answer is forgotten as it is handed out (unknown or stale: False)."""
    return _take(repo_root, remote, branch) == ""
