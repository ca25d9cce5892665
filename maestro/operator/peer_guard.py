"""No agent drives the operator API: writes from a process a lane started are refused.

The operator server on loopback used to trust every local process: an agent (even under
``[agent] sandbox = "bubblewrap"``, which shares the network) could ``POST
/api/v1/OTHER-1/cancel`` or ``/api/v1/pause`` and the journal blamed an operator. Now a write
(any method but ``GET``/``HEAD``; signed webhook routes excepted, they check their own
signature) is refused when a process holding the client's socket
(:func:`maestro.operator.peer.identify`) runs under a lane's supervisor that this server
does not run under (:func:`maestro.containment.lineage.supervisors_beyond`): the agent,
the tool server it starts, validation commands, hooks and the local forge's checks all do.

When no holder can be inspected (another user's process, a non-dumpable one such as the
``sshd`` of a tunnel, or none at all: a descriptor in flight in a unix socket message), a
client gone before the look, or socket tables that cannot be read, the write is refused.
The operator's token (``[operator_http] token_env_var``), when configured, lets those
through, never a holder known to be a lane's. Every refusal is ``403`` with the reason,
logged as ``operator_refused`` in the service log and in the journal of the lane it named
(and of the lane whose agent sent it, when known).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from http import HTTPStatus

from starlette.concurrency import run_in_threadpool
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from maestro.config.service import ServiceConfig
from maestro.containment import lineage
from maestro.ids import check_identifier
from maestro.lanes.record.state import LaneState
from maestro.observability import logs
from maestro.operator.guards import json_error, matches_any
from maestro.operator.peer import Peer, current_inode, identify, thread_holds

__all__ = ["AgentRefusal", "Sender", "refusal_reason"]

_READS = ("GET", "HEAD")


@dataclass(frozen=True)
class Sender:
    """What is known of who sent a write: the peer; for each pid holding its socket, the
    lane supervisors it runs under that the server does not (nearest first); and, when no
    holder could be inspected, the processes under such supervisors that hide their
    descriptors (any of them may be the sender)."""

    peer: Peer
    confined: dict[int, list[int] | None]  # None: its ancestry could not be read whole
    suspects: dict[int, list[int]] = field(default_factory=dict)
    issue: str | None = None  # the lane the sending agent works on, when readable


def refusal_reason(sender: Sender, *, loopback: bool, token: bool) -> str | None:
    """Why a write from ``sender`` is refused, or None to let it through. ``loopback``: the
    server listens on loopback only; ``token``: one is configured, so a request that got
    here showed it (the agent's environment never holds it)."""
    lane = f", working on {sender.issue}" if sender.issue else ""
    for pid, supervisors in sender.confined.items():
        if supervisors:
            return (f"refused: this request comes from a process a lane started (pid {pid}, "
                    f"under maestro's supervisor pid {supervisors[0]}{lane}); agents, "
                    "validation commands and hooks cannot drive maestro's operator surfaces")
    unknown = [pid for pid, supervisors in sender.confined.items() if supervisors is None]
    kind = sender.peer.kind
    if (kind == "process" and not unknown) or (kind == "remote" and not loopback) or token:
        return None  # off loopback the server always has a token (listen.operator_token)
    for pid in unknown:
        return (f"refused: the process holding the client's socket (pid {pid}) or one of "
                "its ancestors ended while maestro looked, so maestro cannot tell whether a "
                "lane started it")
    for pid, supervisors in sender.suspects.items():
        return (f"refused: a process a lane started (pid {pid}, under maestro's supervisor "
                f"pid {supervisors[0]}{lane}) hides its descriptors, so maestro cannot rule "
                "out that it sent this request; set a token ([operator_http] "
                "token_env_var) to act from a client maestro cannot inspect")
    if kind == "remote":  # a loopback client is on this machine: its socket is gone
        return ("refused: the client's socket is no longer in this machine's tables (it "
                "reset the connection) before maestro could tell which process sent this "
                "request")
    if kind == "closed":
        return ("refused: the client let go of its connection before maestro could tell "
                "which process sent this request")
    if kind == "unknown":
        return ("refused: maestro cannot read this machine's socket tables to tell which "
                "process sent this request; set a token ([operator_http] token_env_var)")
    # Hidden: no process maestro may inspect holds the client's socket. Another user's or a
    # non-dumpable process (an ssh tunnel's sshd) may, but so may nobody at all: a lane's
    # process that passed its descriptor in a unix socket message and closed its own
    # (breaker 16, F1), or one that keeps it as an io_uring fixed file. Neither can be
    # told from the other, so only the token lets such a write through.
    return ("refused: no process maestro can inspect holds the client's socket (another "
            "user's or a non-dumpable process, or a descriptor passed between processes), "
            "so maestro cannot rule out that a lane started the sender; set a token "
            "([operator_http] token_env_var) to act from such a client")


def examine(client: tuple[str, int], server: tuple[str, int]) -> Sender:
    """Identify the sender of a request on ``client`` -> ``server`` (blocking: reads
    ``/proc``)."""
    peer = identify(client, server)
    confined: dict[int, list[int] | None] = {
        pid: lineage.supervisors_beyond(pid) for pid in peer.pids}
    suspects: dict[int, list[int]] = {}
    if peer.kind == "hidden":
        # Nobody's main descriptor table showed the socket: look at every thread of each
        # process a lane started (one may keep a table of its own); one whose descriptors
        # cannot be listed might be the sender.
        for pid, sups in lineage.contained_processes().items():
            holds = thread_holds(pid, peer.inode)
            if holds:
                confined[pid] = sups
            elif holds is None:
                suspects[pid] = sups
        if current_inode(client, server) != peer.inode:
            # Its holders left while we looked, maybe before the scan above saw them.
            peer = Peer("closed")
    nearest = next((sups[0] for sups in [*confined.values(), *suspects.values()] if sups),
                   None)
    return Sender(peer, confined, suspects, lineage.issue_of(nearest) if nearest else None)


def _target(path: str) -> tuple[str, str | None]:
    """The action and the issue a write path names: ``/api/v1/X-1/cancel`` -> ``("cancel",
    "X-1")``, ``/api/v1/pause`` -> ``("pause", None)``."""
    parts = [part for part in path.split("/") if part]
    action = parts[-1][:40] if parts else ""
    issue = parts[-2] if len(parts) == 4 and parts[:2] == ["api", "v1"] else None
    return action, issue


def record_refusal(config: ServiceConfig, path: str, reason: str, sender: Sender) -> None:
    """``operator_refused`` in the service log and the journals of the lanes involved."""
    action, issue = _target(path)
    lanes = {name for name in (issue, sender.issue) if name}
    for name in sorted(lanes):
        try:
            state = LaneState(config.lanes_root, check_identifier(name))
            if state.dir.is_dir():
                state.journal("operator_refused", message=reason, action=action,
                              target=issue, sender_pids=list(sender.peer.pids))
        except (ValueError, OSError):  # a malformed name in the path, a damaged folder
            continue
    logs.event(config, "operator_refused", reason, issue=issue, level=logging.WARNING,
               action=action, sender_pids=list(sender.peer.pids), sender_issue=sender.issue)


class AgentRefusal:
    """The middleware: runs :func:`examine` for each write and refuses per
    :func:`refusal_reason`. Off where ancestry cannot be read (not Linux)."""

    def __init__(self, app: ASGIApp, config: ServiceConfig, loopback: bool, token: bool,
                 signed: tuple[BaseRoute, ...] = ()) -> None:
        self.app = app
        self.config = config
        self.loopback = loopback
        self.token = token
        self.signed = signed
        self.enabled = lineage.supported()

    def _applies(self, scope: Scope) -> bool:
        return (self.enabled and scope["type"] == "http" and scope["method"] not in _READS
                and not matches_any(self.signed, scope))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._applies(scope):
            client, server = scope.get("client"), scope.get("server")
            if client and server:
                sender = await run_in_threadpool(examine, tuple(client)[:2],
                                                 tuple(server)[:2])
            else:
                sender = Sender(Peer("unknown"), {})
            reason = refusal_reason(sender, loopback=self.loopback, token=self.token)
            if reason is not None:
                await run_in_threadpool(record_refusal, self.config, scope["path"], reason,
                                        sender)
                await json_error(HTTPStatus.FORBIDDEN, reason)(scope, receive, send)
                return
        await self.app(scope, receive, send)
