"""How the orchestrator starts a lane process: cold (a fresh ``python -m maestro lane ID``)
or warm (forked by a fresh zygote), with a cold start whenever warm cannot be trusted.

Warm is used only when every check passes: a zygote is running and answered ``hello`` (a
dispatch waits for the imports of one started earlier, at daemon start or after the last
lane, never for one it would have to start itself); its code fingerprint, environment and
working directory still match (else it is drained: no more forks, it lives on only to
relay the exits of lanes it already forked); it has forked fewer than
``restart_after_lanes`` lanes; and it forks on request. Any failure retires that
zygote, starts this lane cold and starts a replacement zygote at once; after a second
failure in a row the next try waits a back-off (1 min, doubling to 10 min), so a zygote
that cannot work never costs more than the occasional try.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from maestro.orchestration.warm import freshness
from maestro.orchestration.warm.client import Zygote
from maestro.orchestration.warm.protocol import c_environ

#: How long a dispatch waits for a new zygote's imports before starting the lane cold.
READY_TIMEOUT_S = 10.0
BACKOFF_S = (60.0, 600.0)
#: Code on disk is compared at most this often: a change is seen within a second.
CODE_CHECK_EVERY_S = 1.0


class LaneProcess(Protocol):
    """What the orchestrator needs of a lane process (a Popen or a warm lane)."""

    pid: int

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...

    def send_signal(self, sig: int) -> None: ...


class LaneLauncher:
    """Starts lanes; ``warm`` is off for one-shot runs and when not configured."""

    def __init__(self, warn: Callable[[str], None], log_dir: Path | None = None,
                 warm: bool = False, restart_after_lanes: int = 100) -> None:
        self.warn = warn
        self.log_dir = log_dir
        self.warm = warm and log_dir is not None
        self.restart_after_lanes = restart_after_lanes
        self.zygote: Zygote | None = None
        self.draining: list[Zygote] = []
        self.cold_starts = 0
        self.warm_starts = 0
        self._failures = 0
        self._cool_until = 0.0
        self._code_checked_at = -CODE_CHECK_EVERY_S

    def prepare(self, cwd: Path) -> None:
        """Start a zygote ahead of need (at daemon start, after a failure) so its imports
        overlap other work; never raises."""
        if self.warm and self.zygote is None:
            try:
                self._fresh_zygote(cwd)
            except Exception as exc:  # warm is an optimisation: never a lost dispatch
                self._broken(exc)

    def start(self, argv: list[str], cwd: Path, log: Path) -> LaneProcess:
        """Start one lane with stdout and stderr appended to ``log``, stdin /dev/null."""
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            lane = None
            if self.warm:
                try:
                    lane = self._warm_start(argv, cwd, out.fileno())
                except Exception as exc:  # warm is an optimisation: never a lost dispatch
                    self._broken(exc)
            if lane is not None:
                self.warm_starts += 1
                return lane
            self.cold_starts += 1
            process = subprocess.Popen(argv, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL)
        self.prepare(cwd)  # a replacement imports while this lane runs cold
        return process

    def _broken(self, exc: Exception) -> None:
        self.warn(f"warm workers: {type(exc).__name__}: {exc}; lanes start cold")
        if self.zygote is not None:
            self._failed(self.zygote)
        else:
            self._back_off()

    def _warm_start(self, argv: list[str], cwd: Path, log_fd: int) -> LaneProcess | None:
        before = self.zygote
        zygote = self._fresh_zygote(cwd)
        if zygote is None or zygote is not before:
            return None  # none, or one started just now: it imports while this lane runs cold
        lane = zygote.spawn(argv, cwd, log_fd) if zygote.wait_ready(READY_TIMEOUT_S) else None
        if lane is None and zygote.stale is not None:  # routine: drained like a code change
            self.warn(f"warm workers: zygote {zygote.pid} retired: {zygote.stale}")
            self.draining.append(zygote)
            self.zygote = None
        elif lane is None:
            self._failed(zygote)
        else:
            self._failures = 0
        return lane

    def _fresh_zygote(self, cwd: Path) -> Zygote | None:
        """The zygote to fork from, starting one when there is none fit to use."""
        self._settle_draining()
        zygote = self.zygote
        if zygote is not None:
            zygote.pump()
            reason = zygote.dead or self._stale_reason(zygote, cwd)
            if reason is not None:
                if zygote.dead is not None:
                    self._failed(zygote)
                else:
                    if zygote.forks < self.restart_after_lanes:  # the routine restart is quiet
                        self.warn(f"warm workers: zygote {zygote.pid} retired: {reason}")
                    self.draining.append(zygote)
                self.zygote = zygote = None
        if zygote is None and time.monotonic() >= self._cool_until:
            assert self.log_dir is not None
            try:
                zygote = self.zygote = Zygote(cwd, self.log_dir / "zygote.log")
            except OSError as exc:
                self.warn(f"warm workers: cannot start a zygote ({exc}); lanes start cold")
                self._back_off()
        return zygote

    def _stale_reason(self, zygote: Zygote, cwd: Path) -> str | None:
        if zygote.forks >= self.restart_after_lanes:
            return f"it forked {zygote.forks} lanes (dispatch.warm_restart_after_lanes)"
        if cwd != zygote.cwd:
            return "the lanes' working directory changed"
        if tuple(c_environ()) != zygote.fingerprint.env:  # cheap: every time
            return "the daemon's environment changed"
        now = time.monotonic()
        if now - self._code_checked_at >= CODE_CHECK_EVERY_S:  # a burst of dispatches
            self._code_checked_at = now                         # stats the files once
            if freshness.code_stamps() != zygote.fingerprint.code:
                return freshness.CODE_CHANGED
        return None

    def _failed(self, zygote: Zygote) -> None:
        if self.zygote is zygote:
            self.zygote = None
        zygote.retire("failed")
        self.draining.append(zygote)
        self.warn(f"warm workers: zygote {zygote.pid} is unusable ({zygote.dead}); "
                  "lanes start cold until a new one is ready")
        self._back_off()

    def _back_off(self) -> None:
        self._failures += 1
        if self._failures > 1:
            delay = min(BACKOFF_S[0] * 2 ** (self._failures - 2), BACKOFF_S[1])
            self._cool_until = time.monotonic() + delay

    def _settle_draining(self) -> None:
        """Close drained zygotes whose lanes have all exited (their exits relayed)."""
        for zygote in list(self.draining):
            zygote.pump()
            if zygote.dead is not None or not zygote.lanes:
                zygote.close()
                self.draining.remove(zygote)

    def close(self) -> None:
        """Let every zygote exit; called after the daemon reaped its lanes."""
        for zygote in [*self.draining, *([self.zygote] if self.zygote else [])]:
            zygote.close()
        self.draining, self.zygote = [], None
