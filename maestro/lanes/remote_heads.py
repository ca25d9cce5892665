"""Origin's branch heads as this lane process last read them, so a fetch that would change
nothing is not made.

The claim's preflight asks the remote for the base branch (``git ls-remote``, a live read,
through gitguard's environment like every git call) a moment before prepare fetches it.
When the remote-tracking ref already holds exactly that commit, the fetch would only
rewrite the ref with the value it has (the objects are there: the ref points at them), so
prepare skips it. An answer is used once, by the first fetch after it, for at most
:data:`FRESH_S` seconds, and lives only in this process's memory: a later phase, a resumed
lane, another process (or ``maestro doctor``'s own read) fetches as before.
"""

from __future__ import annotations

import time
from pathlib import Path

from maestro.git import rev_parse
from maestro.lanes.context import LaneContext

#: An answer older than this (monotonic seconds) is not used: the fetch happens.
FRESH_S = 5.0

_answers: dict[tuple[Path, str, str], tuple[float, str]] = {}


def remember(repo_root: Path, remote: str, branch: str, ls_remote_output: str) -> None:
    """Keep the commit ``git ls-remote REMOTE refs/heads/BRANCH`` printed (if any)."""
    wanted = f"refs/heads/{branch}"
    for line in ls_remote_output.splitlines():
        sha, _, ref = line.partition("\t")
        if ref.strip() == wanted and sha:
            _answers[(repo_root, remote, branch)] = (time.monotonic(), sha.strip())
            return


def take(repo_root: Path, remote: str, branch: str) -> str | None:
    """The remembered commit of ``remote``'s ``branch`` if read within :data:`FRESH_S`
    seconds; forgotten as it is handed out."""
    answer = _answers.pop((repo_root, remote, branch), None)
    if answer is None or time.monotonic() - answer[0] > FRESH_S:
        return None
    return answer[1]


def fetch_would_change_nothing(ctx: LaneContext, remote_ref: str) -> bool:
    """Whether the base branch's remote-tracking ref already holds the commit the claim's
    preflight just read from the remote (then prepare need not fetch it)."""
    forge = ctx.workflow.policy.forge
    known = take(ctx.config.repo_root, forge.remote, forge.base_branch)
    return known is not None and rev_parse(ctx.config.repo_root, remote_ref) == known
