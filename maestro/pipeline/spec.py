"""The schema of ``pipelines/lane.yaml`` and its loader (pydantic and ruamel.yaml).

:mod:`maestro.pipeline` compiles a loaded spec into doit tasks. A spec also has a plain
form (:func:`plain_phases`, JSON-ready) that a finished lane's no-op run reads from its
stamp without importing this module (:mod:`maestro.lanes.noop`).
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from maestro.config.locate import file_signature
from maestro.errors import ConfigError
from maestro.fsutil import write_json
from maestro.pipeline.files import condition_holds, pipeline_file, target_done

if TYPE_CHECKING:
    from maestro.config.service import ServiceConfig


class Condition(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    absent: str | None = None
    file: str | None = None
    field: str | None = None
    in_: list[Any] | None = Field(default=None, alias="in")
    not_in: list[Any] | None = None

    def plain(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True)

    def holds(self, folder: Path) -> bool:
        return condition_holds(folder, self.plain())


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


def pipeline_path(config: ServiceConfig) -> Path:
    """A repository may override the lane pipeline with its own ``pipelines/lane.yaml``."""
    return pipeline_file(config.repo_root)


#: The compiled pipeline cached under ``<state_root>/cache/`` (one entry: the last path).
CACHE_NAME = "pipeline.json"


#: Pipelines compiled ahead in this process or in the zygote it was forked from
#: (:func:`compile_ahead`), by :func:`load_pipeline`'s cache key: the file's stat
#: signature and this module's, so a changed file or schema is compiled again.
_COMPILED: dict[str, PipelineSpec] = {}


def compile_ahead(path: Path) -> None:
    """Compile ``path`` now and keep it in memory for :func:`load_pipeline` (a zygote does
    this for maestro's own default pipeline, so no lane forked from it compiles it: about
    12 ms, 40 ms for a process's first YAML parse). Raises as :func:`load_pipeline` does."""
    signature = file_signature(path)
    if not signature:
        return
    key = {"path": str(path), "signature": list(signature),
           "schema": list(file_signature(Path(__file__)) or ())}
    spec = _compile(path)
    if file_signature(path) == signature:
        _COMPILED[json.dumps(key)] = spec


@functools.cache
def load_pipeline(path: Path, cache_dir: Path | None = None) -> PipelineSpec:
    """The validated pipeline at ``path``; with ``cache_dir``, compiled once per change.

    The cache entry is keyed by the file's stat signature (size, mtime_ns, inode,
    ctime_ns: any write changes ctime) and by this module's own (the schema), taken before
    the file is read; a missing, damaged or stale entry is compiled again from the file."""
    signature = file_signature(path)
    key = {"path": str(path), "signature": list(signature or ()),
           "schema": list(file_signature(Path(__file__)) or ())}
    compiled = _COMPILED.get(json.dumps(key)) if signature else None
    if compiled is not None:
        return compiled
    cache = cache_dir / CACHE_NAME if cache_dir is not None and signature else None
    if cache is not None:
        with contextlib.suppress(OSError, ValueError, ValidationError, KeyError, TypeError):
            entry = json.loads(cache.read_bytes())
            if entry["key"] == key:
                return PipelineSpec.model_validate(entry["spec"])
    spec = _compile(path)
    if cache is not None and file_signature(path) == signature:
        with contextlib.suppress(OSError):
            write_json(cache, {"key": key, "spec": spec.model_dump(by_alias=True)})
    return spec


def _compile(path: Path) -> PipelineSpec:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

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


def phase_done(folder: Path, spec: PhaseSpec) -> bool:
    return target_done(folder, spec.target, [c.plain() for c in spec.done_when])


def plain_phases(spec: PipelineSpec) -> list[dict[str, Any]]:
    """The phases as JSON-ready mappings, in file order: what doit's tasks are built from."""
    return [{"name": p.name, "action": p.action, "target": p.target, "after": p.after,
             "doc": p.doc, "done_when": [c.plain() for c in p.done_when]}
            for p in spec.phases]
