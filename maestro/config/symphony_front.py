"""Read Symphony-style front matter the way Symphony does (its SPEC.md §5.3, §6).

Symphony's reading differs from maestro's own strict one in four ways, all kept here so the
translation to maestro's names (:mod:`maestro.config.symphony`) stays one idea:

* unknown keys are ignored for forward compatibility (with a warning naming each one);
  maestro's own ``+++`` TOML and plain YAML files keep refusing them;
* adapter-owned keys live in a ``tracker.provider`` object; each is moved to the maestro key
  the selected adapter reads, reported as a machine setting, or refused by name: a key is
  never lost in silence;
* ``codex.command`` is the agent's launch command, a shell string (default
  ``codex app-server``) that the lane runs with ``bash -lc`` in its worktree;
* ``agent.max_concurrent_agents_by_state`` keys are trimmed and lowercased, and entries that
  are not positive integers are ignored.

Errors are :class:`~maestro.errors.ConfigError` lines ``file: key.path: message``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel

from maestro.config.symphony import translate
from maestro.config.validation import reject_secrets
from maestro.errors import ConfigError

__all__ = ["DEFAULT_CODEX_COMMAND", "PROVIDER_KEYS", "per_state_limits", "prune_unknown",
           "read_symphony"]

DEFAULT_CODEX_COMMAND = "codex app-server"

#: ``tracker.provider`` keys each adapter understands: the maestro ``tracker`` key a value
#: moves to, or (``None``, where it goes) for a machine setting named in a warning.
PROVIDER_KEYS: dict[str, dict[str, str | tuple[None, str]]] = {
    "linear": {"project_slug": "project_slug", "api_key": "api_key",
               "endpoint": (None, "set endpoint under [tracker] in maestro.toml")},
    "github": {"repo": "repository", "repository": "repository",
               "token": (None, "set token_env_var under [github] in maestro.toml"),
               "api_url": (None, "set api_url under [github] in maestro.toml")},
    "files": {"path": "path", "issue_prefix": "issue_prefix"},
}


def read_symphony(data: dict[str, Any], source: Path,
                  model: type[BaseModel]) -> tuple[dict[str, Any], list[str]]:
    """Symphony front matter → (maestro front matter for ``model``, warnings).

    Secrets are looked for in the raw mapping first, so a credential under a key that is
    then ignored is still refused rather than dropped."""
    reject_secrets(source, data)
    data = dict(data)
    warnings: list[str] = []
    tracker = data.get("tracker")
    if isinstance(tracker, dict):
        kind = tracker.get("kind", "files")
        if kind not in PROVIDER_KEYS:
            raise ConfigError(f"{source}: tracker.kind: maestro has no adapter for {kind!r} "
                              f"(expected one of: {', '.join(PROVIDER_KEYS)})")
        data["tracker"], found = _provider_keys(dict(tracker), source)
        warnings += found
    data = _codex_command(data, source)
    agent = data.get("agent")
    if isinstance(agent, dict) and "max_concurrent_agents_by_state" in agent:
        limits, found = per_state_limits(agent["max_concurrent_agents_by_state"])
        data["agent"] = {**agent, "max_concurrent_agents_by_state": limits}
        warnings += found
    translated, moved = translate(data)
    pruned, ignored = prune_unknown(translated, model)
    return pruned, warnings + moved + ignored


def _provider_keys(tracker: dict[str, Any], source: Path) -> tuple[dict[str, Any], list[str]]:
    provider = tracker.get("provider")
    if not isinstance(provider, dict):
        return tracker, []
    del tracker["provider"]
    kind = str(tracker.get("kind", "files"))
    known = PROVIDER_KEYS.get(kind, {})
    warnings = []
    for key, value in provider.items():
        where = f"tracker.provider.{key}"
        target = known.get(str(key))
        if target is None:
            names = ", ".join(sorted(known)) or "none"
            raise ConfigError(f"{source}: {where}: not a setting of maestro's {kind!r} tracker "
                              f"adapter (it reads: {names})")
        if isinstance(target, tuple):
            if isinstance(value, str) and value.startswith("$"):
                warnings.append(f"{where}: ignored in WORKFLOW.md; {target[1]} "
                                f"(the variable {value[1:]})")
            elif key == "token":
                _refuse_literal(source, where)
            else:
                warnings.append(f"{where}: ignored in WORKFLOW.md; {target[1]}")
            continue
        if target == "api_key" and not (isinstance(value, str) and value.startswith("$")):
            _refuse_literal(source, where)
        tracker.setdefault(target, value)
    return tracker, warnings


def _refuse_literal(source: Path, where: str) -> None:
    raise ConfigError(f"{source}: {where}: a credential written in the file; name an "
                      "environment variable instead ($VAR, or api_key_env_var in maestro.toml)")


def _codex_command(data: dict[str, Any], source: Path) -> dict[str, Any]:
    """``codex.command`` (default ``codex app-server``) becomes ``agent.command``."""
    codex = data.get("codex")
    codex = dict(codex) if isinstance(codex, dict) else {}
    command = codex.pop("command", DEFAULT_CODEX_COMMAND)
    if not isinstance(command, str) or not command.strip():
        raise ConfigError(f"{source}: codex.command: expected a non-empty shell command "
                          f"(got {command!r})")
    agent = data.get("agent")
    agent = dict(agent) if isinstance(agent, dict) else {}
    agent["command"] = command
    result = {**data, "agent": agent}
    if codex:
        result["codex"] = codex
    else:
        result.pop("codex", None)
    return result


def per_state_limits(value: Any) -> tuple[dict[str, int], list[str]]:
    """Symphony's per-state map: keys ``trim + lowercase``; entries that are not positive
    integers (or digit strings) are ignored with a warning, as Symphony ignores them."""
    where = "agent.max_concurrent_agents_by_state"
    if not isinstance(value, dict):
        return {}, [f"{where}: ignored; expected a map of state to a positive integer"]
    limits: dict[str, int] = {}
    warnings = []
    for state, cap in value.items():
        key = str(state).strip().lower()
        number = _positive_int(cap)
        if not key or number is None:
            warnings.append(f"{where}.{state}: ignored; expected a positive integer "
                            f"(got {cap!r})")
            continue
        limits[key] = number
    return limits, warnings


def _positive_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    return value if isinstance(value, int) and value > 0 else None


def prune_unknown(data: dict[str, Any], model: type[BaseModel],
                  prefix: str = "") -> tuple[dict[str, Any], list[str]]:
    """Drop the keys ``model`` does not define, recursively through nested sections;
    returns the kept mapping and one warning per dropped key path."""
    kept: dict[str, Any] = {}
    warnings: list[str] = []
    for key, value in data.items():
        path = f"{prefix}{key}"
        field = model.model_fields.get(str(key))
        if field is None:
            warnings.append(f"{path}: unknown key ignored (Symphony-style files are read "
                            "forward-compatibly)")
            continue
        section = field.annotation
        if isinstance(value, dict) and isinstance(section, type) and issubclass(
                section, BaseModel):
            value, found = prune_unknown(value, section, f"{path}.")
            warnings += found
        kept[key] = value
    return kept, warnings
