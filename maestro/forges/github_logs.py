"""The failing job's log of a GitHub check run, read with maestro's token for the agent.

The agent holds no token, so it cannot read a CI log itself; maestro can. For a check run
made by GitHub Actions, the check run's ``detailsUrl`` names the job
(``…/actions/runs/<run>/job/<job>``), and the REST API serves its plain-text log at
``GET /repos/{owner}/{repo}/actions/jobs/{job}/logs``, which answers with a redirect to
short-lived storage. The redirect is followed; httpx drops the ``Authorization`` header
when the redirect leaves the API's origin, so the token never reaches the storage host.

Bounded: at most :data:`MAX_LOG_BYTES` are read, keeping only the last
:data:`KEEP_BYTES` in memory; the tail is then cut at line boundaries and redacted
(:mod:`maestro.forges.logtail`). A log that cannot be read (no Actions job, expired, no
permission, the service down) is never an error of the lane: the agent gets a one-line
note in its place and the check's own title and summary still.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import httpx

from maestro.forges.logtail import failing_tail, redact

__all__ = ["JobLogReader", "job_id", "rest_base"]

#: Bytes read from one log at most (bigger logs are cut: their tail is what was read).
MAX_LOG_BYTES = 16 * 1024 * 1024
#: Bytes of the log kept while reading (the tail the agent's text is cut from).
KEEP_BYTES = 64 * 1024
#: Characters of the failing tail handed to the agent per check.
TAIL_CHARS = 4000
DEFAULT_API = "https://api.github.com"
DEFAULT_GRAPHQL = "https://api.github.com/graphql"
_JOB = re.compile(r"/actions/runs/\d+/jobs?/(\d+)")


def job_id(details_url: str) -> int | None:
    """The Actions job a check run's ``detailsUrl`` points at, or None (another app's run)."""
    found = _JOB.search(details_url or "")
    return int(found.group(1)) if found else None


def rest_base(api_url: str, graphql_url: str) -> str:
    """The REST API root: ``api_url`` when set to something else than github.com's, else
    derived from a non-default ``graphql_url`` (GitHub Enterprise ``https://HOST/api/graphql``
    → ``https://HOST/api/v3``; any other ``…/graphql`` → its parent), so an operator who
    pointed maestro at another GitHub needs to say it once."""
    if api_url.rstrip("/") != DEFAULT_API or graphql_url.rstrip("/") == DEFAULT_GRAPHQL:
        return api_url.rstrip("/")
    root = graphql_url.rstrip("/")
    if root.endswith("/api/graphql"):
        return root.removesuffix("/graphql") + "/v3"
    return root.removesuffix("/graphql")


class JobLogReader:
    """Reads Actions job logs of one repository; ``secrets`` are redacted from every log."""

    def __init__(self, api_root: str, repository: str, token: str,
                 client: httpx.Client | None = None, timeout_s: float = 30.0) -> None:
        self.url = f"{api_root.rstrip('/')}/repos/{repository}/actions/jobs"
        self._token = token
        self._client = client or httpx.Client(timeout=httpx.Timeout(timeout_s),
                                              follow_redirects=True, max_redirects=3)

    def failing_tail(self, job: int, secrets: Iterable[str] = ()) -> str:
        """The job log's failing tail, redacted; or a one-line note saying why there is none."""
        headers = {"Authorization": f"Bearer {self._token}",
                   "Accept": "application/vnd.github+json",
                   "X-GitHub-Api-Version": "2022-11-28", "User-Agent": "maestro"}
        kept = bytearray()
        read = 0
        try:
            with self._client.stream("GET", f"{self.url}/{job}/logs", headers=headers) as reply:
                if reply.status_code != 200:
                    return f"(the job log could not be read: HTTP {reply.status_code})"
                for chunk in reply.iter_bytes():
                    read += len(chunk)
                    kept += chunk
                    del kept[:-KEEP_BYTES]
                    if read >= MAX_LOG_BYTES:
                        break
        except httpx.HTTPError as exc:
            return f"(the job log could not be read: {type(exc).__name__})"
        text = kept.decode("utf-8", errors="replace")
        if len(kept) >= KEEP_BYTES:
            text = text.partition("\n")[2]  # the first line kept may be cut mid-way
        return redact(failing_tail(text, TAIL_CHARS), [self._token, *secrets])

    def close(self) -> None:
        self._client.close()
