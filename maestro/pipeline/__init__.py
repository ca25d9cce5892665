"""Compile ``pipelines/lane.yaml`` into doit tasks and run lanes through doit.

Every phase is a doit task ``<phase>:<ISSUE>`` whose target lives in the lane folder; a
phase is done when its target exists and its ``done_when`` conditions hold, so doit's own
database is only a cache and a runner without it still resumes exactly where the lane
stopped. ``lane:<ISSUE>`` depends on the last phase and therefore runs the lane as far as
it can go.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
import re
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from maestro.errors import ConfigError, LaneLostError, MaestroError
from maestro.ids import check_identifier, iso_now
from maestro.pipeline.files import PIPELINE_ENV, target_done
from maestro.process.start import pause_collector, startup_over

if TYPE_CHECKING:
    from doit.exceptions import TaskFailed

    from maestro.config.service import ServiceConfig
    from maestro.lanes.context import LaneContext
    from maestro.lanes.noop import Finished
    from maestro.lanes.outcomes import Halt
    from maestro.lanes.record.state import LaneState
    from maestro.model import LaneOutcome
    from maestro.pipeline.spec import PhaseSpec

# Start-up is paid by every ``doit lane:ID`` and every poll of a finished lane, so the
# phases, adapters, agent client, logging, pydantic (the config and the pipeline schema),
# ruamel.yaml and doit itself are imported only when they are needed; a finished lane named
# alone on the command line is answered from its stamp (:mod:`maestro.lanes.noop`), and
# ``maestro lane ID`` then imports no doit at all.

__all__ = ["CONFIG_ENV", "PIPELINE_ENV", "LaneRuns", "build_tasks", "doit_namespace",
           "lane_tasks", "run_lane"]

CONFIG_ENV = "MAESTRO_CONFIG"


def resolve_action(spec: PhaseSpec) -> Callable[[LaneContext], None]:
    module_name, _, function = spec.action.partition(":")
    try:
        return getattr(importlib.import_module(module_name), function)  # type: ignore[no-any-return]
    except (ImportError, AttributeError):
        raise ConfigError(f"pipeline phase {spec.name}: action {spec.action!r} not found") from None


# -- running phases ---------------------------------------------------------------------------


class LaneRuns:
    """Per-process memory: lane contexts, and lanes already stopped in this run."""

    def __init__(self, config: ServiceConfig) -> None:
        from maestro.pipeline.spec import load_pipeline, pipeline_path

        self.config = config
        self.pipeline = functools.partial(load_pipeline, pipeline_path(config),
                                          config.state_root / "cache")
        self.contexts: dict[str, LaneContext] = {}
        self.halted: dict[str, LaneOutcome] = {}
        #: The outcome record of each lane halted in this process, kept in memory too: a
        #: full disk may refuse to write ``outcome.json``, and the run must still say why.
        self.records: dict[str, dict[str, Any]] = {}

    def context(self, identifier: str) -> LaneContext:
        from maestro.lanes.context import LaneContext

        if identifier not in self.contexts:
            self.contexts[identifier] = LaneContext(self.config, identifier)
        return self.contexts[identifier]

    def run_phase(self, phase: str, action: str, identifier: str) -> bool | TaskFailed:
        from doit.exceptions import TaskFailed

        from maestro.lanes.cancel import honour as honour_cancel
        from maestro.lanes.confinement.lane_objects import take_lane_objects
        from maestro.lanes.outcomes import Halt, finish_pending_attention
        from maestro.model import LaneOutcome
        from maestro.observability import logs

        startup_over()  # the collector runs again from here (maestro/process/start.py)
        if identifier in self.halted:
            return True
        ctx = self.context(identifier)
        try:
            ctx.state.acquire()
        except MaestroError as exc:
            self.halted[identifier] = LaneOutcome.SKIPPED
            return TaskFailed(str(exc))
        if ctx.state.exists("cleanup.json"):
            # The lane ended (delivered, or cancelled before its later phases ran): no
            # phase runs again, and its record stays as it ended (breaker 20: a cancelled
            # lane run again had its land phase rewrite ``terminated`` as ``waiting``).
            return True
        spec = next(p for p in self.pipeline().phases if p.name == phase)
        function = resolve_action(spec)
        write_activity_phase(ctx.state, phase)
        logs.phase_event(self.config, identifier, phase, "started")
        try:
            # A sandboxed lane killed before its objects were imported: they come first, so
            # the cancel, the healing and the phase all see the lane's commits.
            take_lane_objects(ctx)
            honour_cancel(ctx)  # a person's recorded cancel comes first (lanes/cancel.py)
            finish_pending_attention(ctx)  # then an attention path a run left half-done
            function(ctx)
        except Halt as halt:
            return self._halt(ctx, phase, halt)
        except KeyboardInterrupt:
            # SIGTERM or SIGINT outside an agent session (which ends as a halt of its own):
            # the lane says so, instead of showing its last run's outcome (breaker 21).
            with contextlib.suppress(Exception):
                self._halt(ctx, phase, Halt(LaneOutcome.INTERRUPTED, (
                    f"stopped by a signal during the {phase} phase; the lane resumes on "
                    "the next run"), signalled=True))
            self.halted[identifier] = LaneOutcome.INTERRUPTED
            raise
        except LaneLostError as exc:
            return self._lost(identifier, exc)
        except Exception as exc:
            if ctx.state.lost():  # whatever failed, the folder is no longer this process's
                return self._lost(identifier, LaneLostError(str(exc)))
            # Every failure after the claim is a counted attempt with its real cause.
            from maestro.lanes.failures import count_failure

            if not isinstance(exc, MaestroError | OSError):
                import traceback

                with contextlib.suppress(OSError):  # the disk may be what failed
                    ctx.state.journal("crash", phase=phase, traceback=traceback.format_exc())
            return self._halt(ctx, phase, count_failure(ctx, phase, exc))
        from maestro.lanes.failures import phase_succeeded

        phase_succeeded(ctx, phase)
        ctx.state.journal("phase_done", phase=phase)
        logs.phase_event(self.config, identifier, phase, "finished")
        return True

    def _lost(self, identifier: str, exc: LaneLostError) -> TaskFailed:
        """The lane's folder was deleted or replaced under this process: stop, writing
        nothing (it is no longer this process's to write)."""
        from doit.exceptions import TaskFailed

        from maestro.model import LaneOutcome

        self.halted[identifier] = LaneOutcome.INTERRUPTED
        print(f"lane {identifier}: stopped: {exc}", file=sys.stderr)
        return TaskFailed(f"lane {identifier}: {exc}")

    def _halt(self, ctx: LaneContext, phase: str, halt: Halt) -> bool | TaskFailed:
        from doit.exceptions import TaskFailed

        from maestro.lanes.record.outcome_streak import repeats
        from maestro.observability import logs

        self.halted[ctx.identifier] = halt.outcome
        claim = ctx.state.read("lease.json") or {}
        record = {"outcome": halt.outcome.value, "phase": phase, "reason": halt.reason,
                  "at": iso_now(), "run_id": claim.get("run_id"),
                  "attempt": claim.get("attempt"), **halt.details,
                  "repeats": repeats(ctx.state.read("outcome.json"), halt.outcome.value,
                                     halt.reason)}
        self.records[ctx.identifier] = record
        try:
            ctx.state.write("outcome.json", record)
            ctx.state.journal("halt", **record)
            from maestro.lanes.record.lane_read import seal_finished

            seal_finished(ctx.state)  # the last write: status then reads the marker alone
        except (OSError, LaneLostError) as exc:
            print(f"lane {ctx.identifier}: cannot record the outcome: {exc}", file=sys.stderr)
        logs.phase_event(self.config, ctx.identifier, phase, "halted", halt.outcome.value,
                         halt.reason, halt.failed)
        print(f"lane {ctx.identifier}: {halt.outcome.value} at {phase}: {halt.reason}",
              file=sys.stderr)
        if halt.failed:
            return TaskFailed(f"lane {ctx.identifier}: {halt.outcome.value}: {halt.reason}")
        return True

    def close(self) -> None:
        for ctx in self.contexts.values():
            ctx.close()
            ctx.state.release()


def write_activity_phase(state: LaneState, phase: str) -> None:
    record = state.read("activity.json") or {}
    record.update({"phase": phase, "pid": os.getpid(), "last_event_type": f"phase/{phase}",
                   "last_event_at": iso_now()})
    state.write("activity.json", record)


def lane_tasks(phases: Sequence[dict[str, Any]], lanes_root: Path, identifiers: list[str],
               run_phase: Callable[[str, str, str], bool | TaskFailed]
               ) -> Iterator[dict[str, Any]]:
    """doit tasks from the pipeline's plain phases (:func:`maestro.pipeline.spec.plain_phases`):
    one per phase and lane, each done when its target and ``done_when`` say so."""
    last = phases[-1]["name"]
    for phase in phases:
        yield {"basename": phase["name"], "name": None, "doc": phase["doc"]}
    yield {"basename": "lane", "name": None, "doc": "run the lane as far as it can go"}
    for identifier in identifiers:
        folder = lanes_root / identifier
        for phase in phases:
            yield {
                "basename": phase["name"],
                "name": identifier,
                "doc": phase["doc"],
                "actions": [(run_phase, [phase["name"], phase["action"], identifier])],
                "targets": [str(folder / phase["target"])],
                "uptodate": [functools.partial(target_done, folder, phase["target"],
                                               phase["done_when"])],
                "task_dep": [f"{phase['after']}:{identifier}"] if phase["after"] else [],
                "verbosity": 2,
            }
        yield {
            "basename": "lane",
            "name": identifier,
            "doc": "run the lane as far as it can go",
            "actions": None,
            "task_dep": [f"{last}:{identifier}"],
        }


def build_tasks(runs: LaneRuns, identifiers: list[str]) -> Iterator[dict[str, Any]]:
    from maestro.pipeline.spec import plain_phases

    yield from lane_tasks(plain_phases(runs.pipeline()), runs.config.lanes_root, identifiers,
                          runs.run_phase)


_TASK_ARG = re.compile(r"^[a-z_]+:(.+)$")


def named_identifiers(argv: list[str]) -> list[str]:
    """Lanes named on the command line (``lane:ABC-1``, ``claim:ABC-1``...)."""
    found: list[str] = []
    for arg in argv:
        match = _TASK_ARG.match(arg)
        if match and match.group(1) not in found:
            found.append(check_identifier(match.group(1)))
    return found


def identifiers_from_argv(argv: list[str], config: ServiceConfig) -> list[str]:
    """Lanes named on the command line (``lane:ABC-1``) plus lanes already on disk (a
    foreign folder under the lanes root is not a lane, see :mod:`maestro.lanes.record.listing`)."""
    from maestro.lanes.record.listing import list_lanes

    found = named_identifiers(argv)
    found += [i for i in list_lanes(config.lanes_root).identifiers if i not in found]
    return found


def doit_config(state_root: Path) -> dict[str, Any]:
    from maestro.pipeline.doit_db import set_aside_if_unreadable

    state_root.mkdir(parents=True, exist_ok=True)
    set_aside_if_unreadable(state_root / "doit.sqlite3")
    return {"backend": "sqlite3", "dep_file": str(state_root / "doit.sqlite3"),
            "verbosity": 2, "default_tasks": [], "action_string_formatting": "new"}


_LANE_ARG = re.compile(r"^lane:(.+)$")


def _adopt_what_phases_leave() -> None:
    """Make this doit process the lane's subreaper, as ``maestro lane`` is: a program that
    kills its own supervisor leaves its tree to this process, which kills it after every
    supervised run and, for what is left, when doit exits (containment/reaper.py)."""
    import atexit

    from maestro.containment.reaper import adopt_orphans, sweep_orphans
    from maestro.git.reader import close_all as close_readers

    def sweep() -> None:
        close_readers()  # the lane's own git readers first: a sweep without children is free
        sweep_orphans()

    if adopt_orphans():
        atexit.register(sweep)


def doit_namespace(argv: list[str] | None = None) -> dict[str, Any]:
    """What a ``dodo.py`` exposes: ``DOIT_CONFIG`` and one task creator for every lane."""
    args = list(sys.argv[1:] if argv is None else argv)
    named_lanes = [m.group(1) for m in map(_LANE_ARG.match, args) if m]
    if argv is None and args and len(named_lanes) == len(args):
        # doit's own process running lane tasks only: no collections until a phase
        # starts. A run that names any other task (a user's own in dodo.py) keeps the
        # collector on throughout: only a lane phase would switch it back on.
        pause_collector()
    explicit = os.environ.get(CONFIG_ENV)
    # SIGTERM must save doit's state like SIGINT does (doit saves nothing on SIGTERM).
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    if args and len(named_lanes) == len(args):
        from maestro.lanes.noop import check

        finished = check(named_lanes, Path(explicit) if explicit else None, Path.cwd())
        if finished is not None:
            return _finished_namespace(finished, named_lanes, explicit)
    _adopt_what_phases_leave()
    try:
        from maestro.config.service import load_config
        from maestro.config.template_checks import TemplateChecks
        from maestro.lanes.admission import require_known_issue
        from maestro.lanes.noop import Recorder
        from maestro.lanes.record.damage import set_aside
        from maestro.lanes.record.state import LaneState

        config = load_config(Path(explicit) if explicit else None)
        runs = LaneRuns(config)
        identifiers = identifiers_from_argv(args, config)
        named = named_identifiers(args)
        recorder = Recorder(config, runs.pipeline.args[0], named)
        for identifier in named:
            require_known_issue(config, identifier)
            set_aside(LaneState(config.lanes_root, identifier),
                      TemplateChecks.of_state(config.state_root))
    except MaestroError as exc:
        print(f"maestro: error: {exc}", file=sys.stderr)
        raise SystemExit(exc.exit_code) from None

    def task_maestro() -> Iterator[dict[str, Any]]:
        from maestro.pipeline.spec import plain_phases

        phases = plain_phases(runs.pipeline())
        yield from lane_tasks(phases, config.lanes_root, identifiers, runs.run_phase)
        for identifier in named:
            recorder.record(identifier, phases)

    task_maestro.__doc__ = "maestro lane phases"
    return {"DOIT_CONFIG": doit_config(config.state_root), "task_maestro": task_maestro,
            "_maestro_runs": runs}


def _finished_namespace(finished: Finished, identifiers: list[str],
                        explicit: str | None) -> dict[str, Any]:
    """The namespace of lanes a stamp vouches for: the same tasks, built from the stamp;
    doit still checks every phase. Should a file change in between and doit find a phase
    not done, that phase runs as in a full run (config loaded then)."""
    runs: list[LaneRuns] = []

    def run_phase(phase: str, action: str, identifier: str) -> bool | TaskFailed:
        if not runs:
            from maestro.config.service import load_config

            _adopt_what_phases_leave()
            runs.append(LaneRuns(load_config(Path(explicit) if explicit else None)))
        return runs[0].run_phase(phase, action, identifier)

    def task_maestro() -> Iterator[dict[str, Any]]:
        yield from lane_tasks(finished.phases, finished.lanes_root, identifiers, run_phase)

    task_maestro.__doc__ = "maestro lane phases"
    return {"DOIT_CONFIG": doit_config(finished.state_root), "task_maestro": task_maestro}


def run_lane(config: ServiceConfig, identifier: str, extra_args: list[str] | None = None
             ) -> dict[str, Any]:
    """Run ``lane:<ID>`` through doit in this process; returns the lane's outcome record."""
    from maestro.lanes.admission import require_known_issue
    from maestro.lanes.noop import Recorder
    from maestro.pipeline.spec import plain_phases

    require_known_issue(config, identifier)
    # SIGTERM (the daemon stopping a lane, a CI job cancelled) must unwind like SIGINT so
    # the running phase stops its agent and doit saves what completed.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    runs = LaneRuns(config)
    state = runs.context(identifier).state
    state.acquire()
    try:
        from maestro.config.template_checks import TemplateChecks
        from maestro.lanes.record.damage import set_aside

        recorder = Recorder(config, runs.pipeline.args[0], [identifier])
        set_aside(state, TemplateChecks.of_state(config.state_root))
        before = state.read("outcome.json")

        def task_maestro() -> Iterator[dict[str, Any]]:
            yield from build_tasks(runs, [identifier])

        namespace = {"DOIT_CONFIG": doit_config(config.state_root),
                     "task_maestro": task_maestro}
        code = _run_doit(namespace, extra_args or [], f"lane:{identifier}")
        state.refuse_if_lost()  # the folder's outcome is another holder's, not this run's
        outcome = runs.records.get(identifier) or state.read("outcome.json")
        if outcome is None or (outcome == before and identifier not in runs.halted):
            outcome = _idle_outcome(state)
        if code == 0 and identifier not in runs.halted:
            with contextlib.suppress(MaestroError):
                recorder.record(identifier, plain_phases(runs.pipeline()))
        outcome["doit_exit_code"] = code
        return dict(outcome)
    finally:
        runs.close()


def _run_doit(namespace: dict[str, Any], extra_args: list[str], task: str) -> int:
    """doit's exit code for ``task``: without doit's command line when the only option is a
    built-in reporter (:mod:`maestro.pipeline.doit_run`), else through ``DoitMain`` as before."""
    from maestro.pipeline.doit_run import REPORTERS, run_tasks

    if not extra_args or (len(extra_args) == 2 and extra_args[0] == "--reporter"
                          and extra_args[1] in REPORTERS):
        return run_tasks(namespace, [task], extra_args[1] if extra_args else "console")
    from doit.cmd_base import ModuleTaskLoader
    from doit.doit_cmd import DoitMain

    return int(DoitMain(ModuleTaskLoader(namespace)).run([*extra_args, task]))


def _idle_outcome(state: LaneState) -> dict[str, Any]:
    """A run that did nothing: the lane was already finished (or stopped before)."""
    from maestro.lanes.noop import FINISHED_RECORD
    from maestro.model import LaneOutcome

    previous = state.read("outcome.json")
    if state.exists("cleanup.json"):  # as it ended: finished, or terminated by a cancel
        ended = isinstance(previous, dict) and previous.get("outcome") == "terminated"
        return dict(previous) if ended and isinstance(previous, dict) else dict(FINISHED_RECORD)
    return dict(previous) if isinstance(previous, dict) else {
        "outcome": LaneOutcome.SKIPPED.value, "phase": "", "reason": "nothing to do"}
