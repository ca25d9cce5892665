"""Run ``maestro`` with test-only faults that must live inside the lane process.

``maestro.process.faults`` can only kill the process. The faults here change how the world answers
instead, so they are installed by this wrapper around ``maestro.cli.main`` and configured
by environment variables; production code carries none of them:

``MAESTRO_TEST_TRACKER_FAULT=<phase>:<kind>``
    the first tracker call made while ``<phase>`` runs fails the way an adapter fails once
    its own bounded retries are spent: ``500`` and ``timeout`` raise ``TrackerError``,
    ``429`` raises ``RateLimitedError``.
``MAESTRO_TEST_ENOSPC=<file name>[:persist]``
    ``fsync`` of the temporary file behind an atomic write of that lane file fails with
    ``ENOSPC`` (disk full); ``persist`` makes every later write of this run fail too.
``MAESTRO_TEST_CLOCK_SHIFT_S=<seconds>``
    maestro's wall clock (``maestro.ids.utc_now`` and the files tracker's timestamps) is
    shifted, as after an NTP step or a VM resume; with
    ``MAESTRO_TEST_CLOCK_SHIFT_FROM_PHASE=<phase>`` the step happens when that phase starts.
``MAESTRO_TEST_FLAG=<path>``
    one-shot faults fire only while this file does not exist, and create it when they do.
``MAESTRO_TEST_EFFECTS=<path>``
    every tracker write that changed something is appended there as a JSON line, so a test
    can prove that no transition, label or comment happened twice across kills and reruns.

Usage: ``python tests/faults/harness.py <maestro arguments>``.
"""

from __future__ import annotations

import errno
import json
import os
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

TRACKER_METHODS = {"candidates", "fetch", "get", "transition", "comment", "comments",
                   "add_label", "remove_label"}
_current_phase = {"name": ""}


def _fire_once() -> bool:
    """True the first time a one-shot fault asks (per ``MAESTRO_TEST_FLAG``)."""
    flag = os.environ.get("MAESTRO_TEST_FLAG")
    if not flag:
        return True
    path = Path(flag)
    if path.exists():
        return False
    path.write_text("fired\n")
    return True


class FaultyTracker:
    """Delegates to the real tracker; fails once in the chosen phase; logs effective writes."""

    def __init__(self, inner: Any, fault: str, effects: str) -> None:
        self._inner = inner
        self._phase, _, rest = fault.partition(":")
        self._kind, _, self._method = rest.partition(":")  # phase:kind[:method]
        self._effects = Path(effects) if effects else None
        self.name = inner.name

    def _fail(self, method: str) -> None:
        from maestro.errors import RateLimitedError, TrackerError

        if not self._phase or _current_phase["name"] != self._phase or (
                self._method and method != self._method) or not _fire_once():
            return
        where = f"loopback tracker: {method} (injected in phase {self._phase})"
        if self._kind == "429":
            raise RateLimitedError(f"{where}: rate limited (HTTP 429); gave up after 5 "
                                   "attempt(s)", retry_after=30.0)
        if self._kind == "timeout":
            raise TrackerError(f"{where}: timed out after 30 s; gave up after 5 attempt(s)")
        raise TrackerError(f"{where}: HTTP 500; gave up after 5 attempt(s)")

    def _log(self, method: str, args: tuple[Any, ...]) -> None:
        if self._effects is None:
            return
        from maestro.lanes.record.comments import block_of

        shown = [str(a)[:200] for a in args[1:]]
        if method == "comment":  # maestro's own comments are named by their block's kind
            block = block_of(str(args[1]))
            shown = [f"[{block.get('kind')}]" if block else str(args[1])[:200]]
        record = {"effect": method, "args": shown, "phase": _current_phase["name"]}
        with self._effects.open("a") as handle:
            handle.write(json.dumps(record) + "\n")

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name not in TRACKER_METHODS:
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            if self._kind.startswith("after"):  # the write is done, then its answer fails
                result = attr(*args, **kwargs)
                self._fail(name)
            else:
                self._fail(name)
                result = attr(*args, **kwargs)
            if name == "comment" or (name in ("transition", "add_label", "remove_label")
                                     and result):
                self._log(name, args)
            return result

        return call


def install_tracker_faults() -> None:
    fault = os.environ.get("MAESTRO_TEST_TRACKER_FAULT", "")
    effects = os.environ.get("MAESTRO_TEST_EFFECTS", "")
    if not (fault or effects):
        return
    from maestro.lanes import context

    real = context.make_tracker

    def make(config: Any, workflow: Any) -> Any:
        return FaultyTracker(real(config, workflow), fault, effects)

    context.make_tracker = make  # type: ignore[assignment]


def install_phase_tracking() -> None:
    from maestro.pipeline import LaneRuns

    real: Callable[..., Any] = LaneRuns.run_phase

    def run_phase(self: Any, phase: str, action: str, identifier: str) -> Any:
        _current_phase["name"] = phase
        try:
            return real(self, phase, action, identifier)
        finally:
            _current_phase["name"] = ""

    LaneRuns.run_phase = run_phase  # type: ignore[method-assign]


def install_enospc() -> None:
    spec = os.environ.get("MAESTRO_TEST_ENOSPC", "")
    if not spec:
        return
    target, _, mode = spec.partition(":")
    real_fsync = os.fsync
    state = {"full": False}

    def fsync(fd: int) -> None:
        try:
            name = os.path.basename(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            name = ""
        is_temp = name.endswith(".tmp")
        if is_temp and (state["full"] or (name.startswith(f".{target}.") and _fire_once())):
            state["full"] = mode == "persist"
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    os.fsync = fsync


def install_clock_shift() -> None:
    shift = float(os.environ.get("MAESTRO_TEST_CLOCK_SHIFT_S", "0") or 0)
    if not shift:
        return
    from_phase = os.environ.get("MAESTRO_TEST_CLOCK_SHIFT_FROM_PHASE", "")
    stepped = {"yet": not from_phase}
    from maestro import ids
    from maestro.trackers import files

    real: Callable[[], datetime] = ids.utc_now

    def shifted() -> datetime:
        stepped["yet"] = stepped["yet"] or _current_phase["name"] == from_phase
        return real() + timedelta(seconds=shift) if stepped["yet"] else real()

    ids.utc_now = shifted
    files.utc_now = shifted  # bound by ``from maestro.ids import utc_now``


def main() -> None:
    install_phase_tracking()
    install_tracker_faults()
    install_enospc()
    install_clock_shift()
    from maestro.cli import main as maestro_main

    maestro_main(sys.argv[1:])


if __name__ == "__main__":
    main()
