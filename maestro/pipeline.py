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
import io
import os
import re
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from doit.exceptions import TaskFailed
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from maestro.config.service import ServiceConfig, load_config
from maestro.errors import ConfigError, MaestroError
from maestro.fsutil import read_json
from maestro.ids import check_identifier, iso_now
from maestro.lanes.state import LaneState

if TYPE_CHECKING:
    from maestro.lanes.context import LaneContext
    from maestro.lanes.outcomes import Halt
    from maestro.model import LaneOutcome

# Start-up is paid by every ``doit lane:ID`` and every poll of a finished lane, so the
# phases, adapters, agent client and logging are imported only when a phase really runs.

PIPELINE_ENV = "MAESTRO_PIPELINE"
CONFIG_ENV = "MAESTRO_CONFIG"


class Condition(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    absent: str | None = None
    file: str | None = None
    field: str | None = None
    in_: list[Any] | None = Field(default=None, alias="in")
    not_in: list[Any] | None = None

    def holds(self, folder: Path) -> bool:
        if self.absent is not None:
            return not (folder / self.absent).exists()
        data = read_json(folder / str(self.file)) if self.file else None
        if not isinstance(data, dict):
            return self.in_ is None  # a missing file fails "in" and passes "not_in"
        value = data.get(str(self.field))
        if self.in_ is not None and value not in self.in_:
            return False
        return not (self.not_in is not None and value in self.not_in)


class PhaseSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z_]*$")
    action: str = Field(pattern=r"^[\w.]+:\w+$")
    target: str
    after: str | None = None
    doc: str = ""
    loop: str | None = None
    done_when: list[Condition] = Field(default_factory=list)


class PipelineSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = 1
    pipeline: str
    phases: list[PhaseSpec] = Field(min_length=1)


def default_pipeline_path() -> Path:
    packaged = Path(__file__).parent / "_pipelines" / "lane.yaml"
    if packaged.is_file():
        return packaged
    return Path(__file__).resolve().parents[1] / "pipelines" / "lane.yaml"


def pipeline_path(config: ServiceConfig) -> Path:
    """A repository may override the lane pipeline with its own ``pipelines/lane.yaml``."""
    if os.environ.get(PIPELINE_ENV):
        return Path(os.environ[PIPELINE_ENV])
    local = config.repo_root / "pipelines" / "lane.yaml"
    return local if local.is_file() else default_pipeline_path()


@functools.cache
def load_pipeline(path: Path) -> PipelineSpec:
    try:
        data = YAML(typ="safe", pure=True).load(io.StringIO(path.read_text()))
    except (OSError, YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read the pipeline: {exc}") from None
    try:
        spec = PipelineSpec.model_validate(data)
    except ValidationError as exc:
        from maestro.config.validation import describe_validation_error

        raise describe_validation_error(path, exc) from None
    names = [phase.name for phase in spec.phases]
    for phase in spec.phases:
        if phase.after is not None and phase.after not in names:
            raise ConfigError(f"{path}: phases.{phase.name}.after: unknown phase {phase.after!r}")
    return spec


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
        self.config = config
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
        from maestro import logs
        from maestro.lanes.outcomes import Halt
        from maestro.model import LaneOutcome

        if identifier in self.halted:
            return True
        ctx = self.context(identifier)
        try:
            ctx.state.acquire()
        except MaestroError as exc:
            self.halted[identifier] = LaneOutcome.SKIPPED
            return TaskFailed(str(exc))
        spec = next(p for p in load_pipeline(pipeline_path(self.config)).phases
                    if p.name == phase)
        function = resolve_action(spec)
        write_activity_phase(ctx.state, phase)
        logs.phase_event(self.config, identifier, phase, "started")
        try:
            function(ctx)
        except Halt as halt:
            return self._halt(ctx, phase, halt)
        except KeyboardInterrupt:
            self.halted[identifier] = LaneOutcome.INTERRUPTED
            raise
        except Exception as exc:
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

    def _halt(self, ctx: LaneContext, phase: str, halt: Halt) -> bool | TaskFailed:
        from maestro import logs

        self.halted[ctx.identifier] = halt.outcome
        claim = ctx.state.read("lease.json") or {}
        record = {"outcome": halt.outcome.value, "phase": phase, "reason": halt.reason,
                  "at": iso_now(), "run_id": claim.get("run_id"),
                  "attempt": claim.get("attempt"), **halt.details}
        self.records[ctx.identifier] = record
        try:
            ctx.state.write("outcome.json", record)
            ctx.state.journal("halt", **record)
            from maestro.lanes.lane_read import seal_finished

            seal_finished(ctx.state)  # the last write: status then reads the marker alone
        except OSError as exc:
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


def phase_done(folder: Path, spec: PhaseSpec) -> bool:
    if not (folder / spec.target).exists():
        return False
    return all(condition.holds(folder) for condition in spec.done_when)


def build_tasks(runs: LaneRuns, identifiers: list[str]) -> Iterator[dict[str, Any]]:
    spec = load_pipeline(pipeline_path(runs.config))
    last = spec.phases[-1].name
    for phase in spec.phases:
        yield {"basename": phase.name, "name": None, "doc": phase.doc}
    yield {"basename": "lane", "name": None, "doc": "run the lane as far as it can go"}
    for identifier in identifiers:
        folder = runs.config.lanes_root / identifier
        for phase in spec.phases:
            yield {
                "basename": phase.name,
                "name": identifier,
                "doc": phase.doc,
                "actions": [(runs.run_phase, [phase.name, phase.action, identifier])],
                "targets": [str(folder / phase.target)],
                "uptodate": [functools.partial(phase_done, folder, phase)],
                "task_dep": [f"{phase.after}:{identifier}"] if phase.after else [],
                "verbosity": 2,
            }
        yield {
            "basename": "lane",
            "name": identifier,
            "doc": "run the lane as far as it can go",
            "actions": None,
            "task_dep": [f"{last}:{identifier}"],
        }


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
    foreign folder under the lanes root is not a lane, see :mod:`maestro.lanes.listing`)."""
    from maestro.lanes.listing import list_lanes

    found = named_identifiers(argv)
    found += [i for i in list_lanes(config.lanes_root).identifiers if i not in found]
    return found


def doit_config(config: ServiceConfig) -> dict[str, Any]:
    config.state_root.mkdir(parents=True, exist_ok=True)
    return {"backend": "sqlite3", "dep_file": str(config.state_root / "doit.sqlite3"),
            "verbosity": 2, "default_tasks": [], "action_string_formatting": "new"}


def doit_namespace(argv: list[str] | None = None) -> dict[str, Any]:
    """What a ``dodo.py`` exposes: ``DOIT_CONFIG`` and one task creator for every lane."""
    explicit = os.environ.get(CONFIG_ENV)
    try:
        config = load_config(Path(explicit) if explicit else None)
        runs = LaneRuns(config)
        identifiers = identifiers_from_argv(list(sys.argv[1:] if argv is None else argv),
                                            config)
        from maestro.lanes.admission import require_known_issue
        from maestro.lanes.damage import set_aside

        for identifier in named_identifiers(list(sys.argv[1:] if argv is None else argv)):
            require_known_issue(config, identifier)
            set_aside(LaneState(config.lanes_root, identifier))
    except MaestroError as exc:
        print(f"maestro: error: {exc}", file=sys.stderr)
        raise SystemExit(exc.exit_code) from None

    def task_maestro() -> Iterator[dict[str, Any]]:
        yield from build_tasks(runs, identifiers)

    task_maestro.__doc__ = "maestro lane phases"
    # SIGTERM must save doit's state like SIGINT does (doit saves nothing on SIGTERM).
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    return {"DOIT_CONFIG": doit_config(config), "task_maestro": task_maestro,
            "_maestro_runs": runs}


def run_lane(config: ServiceConfig, identifier: str, extra_args: list[str] | None = None
             ) -> dict[str, Any]:
    """Run ``lane:<ID>`` through doit in this process; returns the lane's outcome record."""
    from doit.cmd_base import ModuleTaskLoader
    from doit.doit_cmd import DoitMain

    from maestro.lanes.admission import require_known_issue

    require_known_issue(config, identifier)
    # SIGTERM (the daemon stopping a lane, a CI job cancelled) must unwind like SIGINT so
    # the running phase stops its agent and doit saves what completed.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    runs = LaneRuns(config)
    state = runs.context(identifier).state
    state.acquire()
    try:
        from maestro.lanes.damage import set_aside

        set_aside(state)
        before = state.read("outcome.json")

        def task_maestro() -> Iterator[dict[str, Any]]:
            yield from build_tasks(runs, [identifier])

        namespace = {"DOIT_CONFIG": doit_config(config), "task_maestro": task_maestro}
        code = DoitMain(ModuleTaskLoader(namespace)).run(
            [*(extra_args or []), f"lane:{identifier}"])
        outcome = runs.records.get(identifier) or state.read("outcome.json")
        if outcome is None or (outcome == before and identifier not in runs.halted):
            outcome = _idle_outcome(state)
        outcome["doit_exit_code"] = code
        return dict(outcome)
    finally:
        runs.close()


def _idle_outcome(state: LaneState) -> dict[str, Any]:
    """A run that did nothing: the lane was already finished (or stopped before)."""
    from maestro.model import LaneOutcome

    if state.exists("cleanup.json"):
        return {"outcome": LaneOutcome.FINISHED.value, "phase": "cleanup",
                "reason": "lane already finished"}
    previous = state.read("outcome.json")
    return dict(previous) if isinstance(previous, dict) else {
        "outcome": LaneOutcome.SKIPPED.value, "phase": "", "reason": "nothing to do"}
