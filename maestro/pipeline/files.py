"""Which ``lane.yaml`` a lane uses, and whether a phase's files say it is done.

Kept apart from the pydantic schema (:mod:`maestro.pipeline.spec`) so that a finished
lane's no-op run (:mod:`maestro.lanes.noop`) can ask both without importing pydantic or
ruamel.yaml. A condition is the plain mapping the schema validated (``absent``, ``file``,
``field``, ``in``, ``not_in``): one implementation serves both.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from maestro.fsutil import read_json

PIPELINE_ENV = "MAESTRO_PIPELINE"


def default_pipeline_path() -> Path:
    """The wheel ships ``pipelines/`` as ``maestro/_pipelines`` (pyproject force-include);
    a source checkout has it beside the ``maestro`` package. This module lives in
    ``maestro/pipeline/``, hence ``parents[1]`` is the package and ``parents[2]`` the checkout."""
    here = Path(__file__).resolve()
    packaged = here.parents[1] / "_pipelines" / "lane.yaml"
    if packaged.is_file():
        return packaged
    return here.parents[2] / "pipelines" / "lane.yaml"


def pipeline_file(repo_root: Path) -> Path:
    """A repository may override the lane pipeline with its own ``pipelines/lane.yaml``;
    ``$MAESTRO_PIPELINE`` overrides both."""
    if os.environ.get(PIPELINE_ENV):
        return Path(os.environ[PIPELINE_ENV])
    local = repo_root / "pipelines" / "lane.yaml"
    return local if local.is_file() else default_pipeline_path()


def condition_holds(folder: Path, condition: Mapping[str, Any]) -> bool:
    """One ``done_when`` entry against the lane folder: ``{absent: file}``, or
    ``{file, field, in: [...]}`` / ``{file, field, not_in: [...]}``."""
    absent = condition.get("absent")
    if absent is not None:
        return not (folder / str(absent)).exists()
    name, in_, not_in = condition.get("file"), condition.get("in"), condition.get("not_in")
    data = read_json(folder / str(name)) if name else None
    if not isinstance(data, dict):
        return in_ is None  # a missing file fails "in" and passes "not_in"
    value = data.get(str(condition.get("field")))
    if in_ is not None and value not in in_:
        return False
    return not (not_in is not None and value in not_in)


def target_done(folder: Path, target: str, done_when: Iterable[Mapping[str, Any]]) -> bool:
    """A phase is done when its target exists and every ``done_when`` condition holds."""
    if not (folder / target).exists():
        return False
    return all(condition_holds(folder, condition) for condition in done_when)
