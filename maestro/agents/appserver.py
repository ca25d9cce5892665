"""An asyncio JSON-RPC client for ``codex app-server`` (and anything speaking its protocol).

The child speaks newline-delimited JSON on stdio. Three kinds of line arrive on stdout:
responses to our requests, notifications, and server requests (``item/tool/call``, approval
and user-input requests) that we must answer. stderr is read separately and never parsed.

Every failure has its own class so the lane can decide: a start-up failure is worth a
retry, a stall or a request for human input is not.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from maestro.agents.errors import AgentError as AgentError
from maestro.agents.spawn import LINE_LIMIT, pump_stderr, spawn
from maestro.containment import reaper
from maestro.fsutil import parse_json

Json = dict[str, Any]
RequestHandler = Callable[[str, Json], Awaitable[Json]]
EventHandler = Callable[[str, Json], None]


class StartupError(AgentError):
    error_class = "startup_failed"


class ResponseTimeout(AgentError):
    error_class = "response_timeout"


class ProcessExited(AgentError):
    error_class = "process_exited"


class MalformedLine(AgentError):
    error_class = "malformed_line"


class RpcError(AgentError):
    error_class = "rpc_error"


class TurnTimeout(AgentError):
    error_class = "turn_timeout"


class Stalled(AgentError):
    """No protocol activity for the idle timeout: human-required, never silently retried."""

    error_class = "stalled"
    retryable = False


def turn_wait(now: float, started: float, last_activity: float, idle_timeout: float,
              turn_timeout: float, quiet: str) -> float:
    """Seconds a turn may wait before looking again: the nearer of its idle deadline
    (``last_activity`` + ``idle_timeout``) and its turn deadline (``started`` +
    ``turn_timeout``); all monotonic seconds. Raises :class:`Stalled` (first) when nothing
    came for ``idle_timeout`` (``quiet`` names what: ``"agent event"``) and
    :class:`TurnTimeout` when the turn has run ``turn_timeout``. The same rule for every
    transport."""
    idle_left = idle_timeout - (now - last_activity)
    turn_left = turn_timeout - (now - started)
    if idle_left <= 0:
        raise Stalled(f"no {quiet} for {idle_timeout:g}s during the turn")
    if turn_left <= 0:
        raise TurnTimeout(f"turn did not finish within {turn_timeout:g}s")
    return min(idle_left, turn_left)


class HumanInputRequired(AgentError):
    """The agent asked a question only a person can answer; an unattended run cannot."""

    error_class = "human_input_required"
    retryable = False


class RecordingFailed(AgentError):
    """maestro could not record what the agent did (full disk, read-only lane folder): the
    session ends at once instead of waiting for the idle timeout. A later attempt may find
    room again, so it stays retryable."""

    error_class = "recording_failed"


class Terminated(AgentError):
    """maestro itself was asked to stop (SIGTERM): the agent is stopped at once and the
    lane resumes later; the attempt is not counted as the agent's failure."""

    error_class = "terminated"
    retryable = False


class AppServerClient:
    def __init__(
        self,
        argv: list[str],
        cwd: Path,
        env: dict[str, str],
        on_event: EventHandler,
        on_request: RequestHandler,
        on_stderr: Callable[[str], None] | None = None,
        response_timeout: float = 60.0,
    ) -> None:
        self.argv = argv
        self.cwd = cwd
        self.env = env
        self.on_event = on_event
        self.on_request = on_request
        self.on_stderr = on_stderr or (lambda line: None)
        self.response_timeout = response_timeout
        self.process: asyncio.subprocess.Process | None = None
        self.last_activity = time.monotonic()
        self.event_count = 0
        self._next_id = 0
        self._pending: dict[int | str, asyncio.Future[Json]] = {}
        self._turn_waiters: dict[str, asyncio.Future[Json]] = {}
        self._completed_turns: dict[str, Json] = {}
        self._fatal: AgentError | None = None
        self._fatal_event = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._request_tasks: set[asyncio.Task[None]] = set()
        self._write_lock = asyncio.Lock()

    # -- life cycle ------------------------------------------------------------------------

    async def start(self) -> None:
        try:
            self.process = await spawn(self.argv, self.cwd, self.env)
        except (OSError, ValueError) as exc:
            raise StartupError(f"cannot start agent {self.argv[0]!r}: {exc}") from None
        self._tasks = [
            asyncio.create_task(self._read_stdout()),
            asyncio.create_task(self._read_stderr()),
        ]

    async def close(self, grace: float = 2.0) -> None:
        process = self.process
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError, OSError):
                if process.stdin:
                    process.stdin.close()
            try:
                await asyncio.wait_for(process.wait(), grace)
            except TimeoutError:
                self.kill()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(process.wait(), grace)
        for task in [*self._tasks, *self._request_tasks]:
            task.cancel()
        for task in [*self._tasks, *self._request_tasks]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def kill(self) -> None:
        """Kill the child, its process group and whatever left the group (the agent may
        have started tools; :mod:`maestro.containment.reaper`)."""
        process = self.process
        if process is None or process.returncode is not None:
            return
        reaper.kill_tree(process.pid)

    # -- sending ---------------------------------------------------------------------------

    async def _send(self, message: Json) -> None:
        process = self.process
        if process is None or process.stdin is None:
            raise ProcessExited("agent is not running")
        data = (json.dumps(message, separators=(",", ":")) + "\n").encode()
        async with self._write_lock:
            try:
                process.stdin.write(data)
                await process.stdin.drain()
            except (BrokenPipeError, ConnectionResetError):
                raise self._fatal or ProcessExited(
                    f"agent exited (code {process.returncode}) while we were writing"
                ) from None

    async def notify(self, method: str, params: Json | None = None) -> None:
        await self._send({"method": method, "params": params or {}})

    async def request(self, method: str, params: Json, timeout: float | None = None) -> Json:
        self._next_id += 1
        request_id = self._next_id
        future: asyncio.Future[Json] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        await self._send({"id": request_id, "method": method, "params": params})
        try:
            return await self._await(future, timeout or self.response_timeout, method)
        finally:
            self._pending.pop(request_id, None)

    async def _await(self, future: asyncio.Future[Json], timeout: float, what: str) -> Json:
        fatal: asyncio.Future[Any] = asyncio.ensure_future(self._fatal_event.wait())
        waiters: set[asyncio.Future[Any]] = {future, fatal}
        try:
            done, _ = await asyncio.wait(waiters, timeout=timeout,
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            fatal.cancel()
        if future in done:
            return future.result()
        if self._fatal is not None:
            raise self._fatal
        raise ResponseTimeout(f"no response to {what} within {timeout:g}s")

    # -- threads ---------------------------------------------------------------------------

    async def resume_thread(self, thread_id: str, params: Json | None = None) -> str:
        """Continue the earlier thread ``thread_id`` (``thread/resume``): the agent keeps the
        conversation so far. Returns the thread's id; :class:`RpcError` when the agent does
        not know the thread or does not serve the method (the caller starts a new one)."""
        result = await self.request("thread/resume", {**(params or {}), "threadId": thread_id})
        return str((result.get("thread") or {}).get("id") or thread_id)

    # -- turns -----------------------------------------------------------------------------

    async def wait_turn(self, turn_id: str, idle_timeout: float, turn_timeout: float) -> Json:
        """Wait for ``turn/completed`` of ``turn_id``, bounded by idleness and total time."""
        if turn_id in self._completed_turns:
            return self._completed_turns.pop(turn_id)
        future: asyncio.Future[Json] = asyncio.get_running_loop().create_future()
        self._turn_waiters[turn_id] = future
        started = time.monotonic()
        try:
            while True:
                wait = turn_wait(time.monotonic(), started, self.last_activity, idle_timeout,
                                 turn_timeout, "protocol activity")
                try:
                    return await self._await(future, wait, "turn")
                except ResponseTimeout:
                    continue
        finally:
            self._turn_waiters.pop(turn_id, None)

    # -- reading ---------------------------------------------------------------------------

    def terminate(self, reason: str) -> None:
        """Stop now: wake every waiter with :class:`Terminated` and kill the child."""
        self._set_fatal(Terminated(reason))
        self.kill()

    def _set_fatal(self, error: AgentError) -> None:
        if self._fatal is None:
            self._fatal = error
            self._fatal_event.set()

    async def _read_stdout(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        stream = self.process.stdout
        while True:
            try:
                raw = await stream.readline()
            except ValueError:
                self._set_fatal(MalformedLine(f"agent sent a line longer than {LINE_LIMIT} bytes"))
                self.kill()
                return
            if not raw:
                code = await self.process.wait()
                self._set_fatal(ProcessExited(f"agent exited with code {code}"))
                return
            line = raw.strip()
            if not line:
                continue
            self.last_activity = time.monotonic()
            try:
                message = parse_json(line)
                if not isinstance(message, dict):
                    raise ValueError("not an object")
            except ValueError:
                preview = line[:120].decode(errors="replace")
                self._set_fatal(MalformedLine(f"agent sent a line that is not JSON: {preview!r}"))
                self.kill()
                return
            try:
                self._dispatch(message)
            except OSError as exc:
                self._handler_failed(exc)
                return

    def _handler_failed(self, exc: OSError) -> None:
        """A handler of ours could not record an event (e.g. ENOSPC): end the session now."""
        self._set_fatal(RecordingFailed(f"maestro could not record the agent's events: {exc}"))
        self.kill()

    def _dispatch(self, message: Json) -> None:
        method = message.get("method")
        if isinstance(method, str) and "id" in message:
            self.event_count += 1
            self.on_event(method, message.get("params") or {})
            task = asyncio.create_task(self._answer(message["id"], method, message))
            self._request_tasks.add(task)
            task.add_done_callback(self._request_tasks.discard)
            return
        if isinstance(method, str):
            self.event_count += 1
            params = message.get("params") or {}
            self.on_event(method, params)
            if method == "turn/completed":
                turn = params.get("turn") or {}
                turn_id = str(turn.get("id", ""))
                waiter = self._turn_waiters.get(turn_id)
                if waiter is not None and not waiter.done():
                    waiter.set_result(params)
                else:
                    self._completed_turns[turn_id] = params
            return
        future = self._pending.get(message.get("id"))  # type: ignore[arg-type]
        if future is None or future.done():
            return
        if "error" in message:
            error = message["error"] or {}
            future.set_exception(
                RpcError(f"agent answered with error {error.get('code')}: {error.get('message')}")
            )
        else:
            future.set_result(message.get("result") or {})

    async def _answer(self, request_id: Any, method: str, message: Json) -> None:
        try:
            result = await self.on_request(method, message.get("params") or {})
            reply: Json = {"id": request_id, "result": result}
        except AgentError as exc:
            self._set_fatal(exc)
            reply = {"id": request_id, "error": {"code": -32000, "message": str(exc)}}
        except OSError as exc:
            self._handler_failed(exc)
            return
        except Exception as exc:  # the handler must never kill the reader
            reply = {"id": request_id, "error": {"code": -32603, "message": str(exc)}}
        with contextlib.suppress(AgentError):
            await self._send(reply)

    async def _read_stderr(self) -> None:
        assert self.process is not None and self.process.stderr is not None
        try:
            await pump_stderr(self.process.stderr, self.on_stderr)
        except OSError as exc:
            self._handler_failed(exc)
