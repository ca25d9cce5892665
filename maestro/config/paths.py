"""Path values of the service config: ``~`` and ``$VAR`` expansion, and the workflow path a
command line names (Symphony SPEC.md §5.1, §6.1).

``~`` expands to the home folder; a value that starts with ``$NAME`` (or ``${NAME}``) takes
its leading part from that environment variable, which must be set and non-empty. Only
local path values are expanded, never URLs or shell commands. A relative result is resolved
against the config file's folder by :meth:`ServiceConfig.resolved`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from maestro.errors import ConfigError

if TYPE_CHECKING:
    from maestro.config.service import ServiceConfig

__all__ = ["expand_path", "with_workflow"]

_VAR = re.compile(r"^\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")


def expand_path(value: Path | str, where: str) -> Path:
    """``value`` with a leading ``$VAR`` and ``~`` expanded; ``ConfigError`` names
    ``where`` (``file: key``) when the variable is unset or empty."""
    text = str(value)
    match = _VAR.match(text)
    if match:
        name = match.group(1) or match.group(2)
        found = os.environ.get(name, "")
        if not found.strip():
            raise ConfigError(f"{where}: environment variable {name} is not set or empty "
                              f"(got {text!r})")
        text = found + text[match.end():]
    return Path(text).expanduser()


def with_workflow(config: ServiceConfig, explicit: Path | None,
                  must_exist: bool = True) -> ServiceConfig:
    """``config`` with the workflow file a command line named (``maestro daemon PATH``);
    a person's explicit path that is not a file is an error, never a silent fallback.

    ``must_exist=False`` is for the path the loop hands its lane processes
    (``--workflow``): a file deleted meanwhile is then met by the lane's own fallback to
    the last good workflow, as it would be without the option."""
    if explicit is None:
        return config
    path = expand_path(explicit, "command line").resolve()
    if must_exist and not path.is_file():
        raise ConfigError(f"{path}: workflow file not found (given on the command line)")
    return config.model_copy(update={"workflow_path": path})
