"""Turn pydantic's errors into one line per problem: ``file: key.path: message (got value)``."""

from __future__ import annotations

import re
import reprlib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from maestro.errors import ConfigError

_SECRET_SHAPES = re.compile(
    r"(lin_api_[A-Za-z0-9]{8,}|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}"
    r"|sk-[A-Za-z0-9_-]{20,}|xox[abpr]-[A-Za-z0-9-]{10,})"
)


def describe_validation_error(source: Path | str, error: ValidationError) -> ConfigError:
    lines = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "(top level)"
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "unknown key"
        got = item.get("input")
        shown = "" if isinstance(got, dict) else f" (got {short_repr(got)})"
        lines.append(f"{source}: {where}: {message}{shown}")
    return ConfigError("\n".join(lines))


class _BoundedRepr(reprlib.Repr):
    """``reprlib`` bounds only exact built-in types; YAML loaders return subclasses
    (``CommentedSeq``, ``CommentedMap``) whose plain ``repr`` is unbounded."""

    def repr1(self, x: Any, level: int) -> str:
        for base, method in ((dict, self.repr_dict), (list, self.repr_list),
                             (tuple, self.repr_tuple), (str, self.repr_str)):
            if isinstance(x, base) and type(x) is not base:
                plain: Any = base(x)  # type: ignore[arg-type]
                return str(method(plain, level))
        return super().repr1(x, level)


_REPR = _BoundedRepr()
_REPR.maxlevel, _REPR.maxlist, _REPR.maxdict, _REPR.maxstring, _REPR.maxother = 2, 6, 6, 60, 60


def short_repr(value: Any) -> str:
    """A bounded repr: YAML aliases can make a 1 kB file a structure of 10^8 items, and a
    plain ``repr`` of it would take minutes before the message is cut short."""
    text = _REPR.repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def find_secrets(value: Any, path: str = "", _seen: set[int] | None = None) -> list[str]:
    """Key paths whose values look like credentials; config must name env vars instead.

    Each container is visited once: YAML aliases share containers, and walking every path
    through them is exponential (a "billion laughs" front matter)."""
    found: list[str] = []
    seen = set() if _seen is None else _seen
    if isinstance(value, dict | list):
        if id(value) in seen:
            return found
        seen.add(id(value))
    if isinstance(value, dict):
        for key, child in value.items():
            found += find_secrets(child, f"{path}.{key}" if path else str(key), seen)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += find_secrets(child, f"{path}[{index}]", seen)
    elif isinstance(value, str) and _SECRET_SHAPES.search(value):
        found.append(path or "(top level)")
    return found


def reject_secrets(source: Path | str, data: Any) -> None:
    paths = find_secrets(data)
    if paths:
        raise ConfigError(
            "\n".join(
                f"{source}: {where}: looks like a secret; put it in an environment variable "
                "and name the variable instead (for example api_key_env_var)"
                for where in paths
            )
        )


def reject_absolute(source: Path | str, where: str, value: str) -> str:
    if Path(value).is_absolute() or value.startswith("~"):
        raise ConfigError(
            f"{source}: {where}: expected a path relative to the repository (got {value!r})"
        )
    if ".." in Path(value).parts:
        raise ConfigError(
            f"{source}: {where}: expected a path inside the repository, without '..' "
            f"(got {value!r})"
        )
    return value
