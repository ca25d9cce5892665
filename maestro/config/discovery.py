"""Which project a command works on, and a clear "not here" when there is none.

:func:`~maestro.config.service.load_config` finds ``maestro.toml`` from any subdirectory of
the repository and falls back to the embedded defaults; those defaults only make a project
where a ``WORKFLOW.md`` exists. Anywhere else (a home folder, another repository) a command
that reads lanes or issues would quietly show nothing, so it stops with one line instead.
"""

from __future__ import annotations

from pathlib import Path

from maestro.config.locate import CONFIG_NAME
from maestro.config.paths import with_workflow
from maestro.config.service import ServiceConfig, load_config
from maestro.errors import ConfigError

__all__ = ["load_project"]


def load_project(explicit: Path | None = None, cwd: Path | None = None,
                 workflow: Path | None = None,
                 workflow_must_exist: bool = True) -> ServiceConfig:
    """The service config of the project around ``cwd``, with the ``workflow`` file a
    command line named (:func:`~maestro.config.paths.with_workflow`); :class:`ConfigError`
    (exit 2) when there is neither a ``maestro.toml`` nor a ``WORKFLOW.md`` to work from."""
    config = with_workflow(load_config(explicit, cwd), workflow, must_exist=workflow_must_exist)
    if config.source is None and not config.workflow_path.is_file():
        where = (cwd or Path.cwd()).resolve()
        raise ConfigError(
            f"{where}: not a maestro project: no {CONFIG_NAME} here or in a parent folder of "
            f"the repository, and no {config.workflow_path.name} at {config.workflow_path} "
            "(run `maestro init`, or pass --config PATH)")
    return config
