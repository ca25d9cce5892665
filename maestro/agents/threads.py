"""Which agent thread a session runs on: the lane's earlier one when it can be resumed.

A repair round is the same piece of work as the agent phase before it (the lifecycle's
"same thread lineage"): on a resumed thread the agent still has what it read, tried and
was told. Resuming is best effort: an agent that does not know the thread (its history
was removed, another machine runs the lane) or does not serve ``thread/resume`` answers
with an error, and the session starts a new thread instead; both are journaled
(``thread_resumed`` / ``thread_resume_failed``). Any other failure (the agent died, no
answer in time) is the session's failure as usual.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from maestro.agents.appserver import AppServerClient, RpcError

__all__ = ["RESUME_KEYS", "open_thread"]

#: ``thread/start`` parameters repeated on ``thread/resume``. The tools and developer
#: instructions belong to the thread already; saying them again would repeat them.
RESUME_KEYS = ("cwd", "personality", "serviceTier")


async def open_thread(client: AppServerClient, start: dict[str, Any], resume: str,
                      log: Callable[..., None]) -> str:
    """The id of the thread to run turns on: ``resume`` continued when given and known to
    the agent, else a new thread started with ``start``."""
    if resume:
        try:
            thread_id = await client.resume_thread(
                resume, {key: start[key] for key in RESUME_KEYS if key in start})
        except RpcError as exc:
            log(event="thread_resume_failed", thread_id=resume, error=str(exc)[:500])
        else:
            log(event="thread_resumed", thread_id=thread_id)
            return thread_id
    started = await client.request("thread/start", start)
    return str((started.get("thread") or {}).get("id", ""))
