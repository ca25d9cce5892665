"""Read Symphony-style ``WORKFLOW.md`` front matter as maestro policy.

Teams moving from openai/symphony already have a ``WORKFLOW.md`` whose YAML front matter
uses ``tracker.kind``, ``tracker.active_states``, ``agent.max_concurrent_agents``,
``polling``, ``workspace``, ``hooks`` and ``codex``. Repository policy among those keys is
translated to maestro's names; settings that belong to one machine in maestro (poll
interval, workspace root, agent command, timeouts, credentials) are dropped with a warning
that says where they go instead, so the file works unchanged and nothing is silently lost.
"""

from __future__ import annotations

from typing import Any

from maestro.statenames import same_state

SYMPHONY_TOP_LEVEL = {"polling", "workspace", "hooks", "codex", "server"}
_AGENT_TO_EXECUTION = ("max_concurrent_agents", "max_retry_backoff_ms",
                       "max_concurrent_agents_by_state", "max_turns")


def looks_like_symphony(data: dict[str, Any]) -> bool:
    tracker = data.get("tracker")
    agent = data.get("agent")
    return bool(
        SYMPHONY_TOP_LEVEL & set(data)
        or (isinstance(tracker, dict) and ({"kind", "active_states", "api_key"} & set(tracker)
                                           or isinstance(tracker.get("provider"), dict)))
        or (isinstance(agent, dict) and set(_AGENT_TO_EXECUTION) & set(agent))
    )


def _states(value: Any) -> Any:
    """Symphony accepts a list or a comma-separated string."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def translate(data: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Return maestro front matter and the warnings for what moved elsewhere."""
    # ``server`` belongs to the HTTP extension: maestro.operator.listen reads server.port.
    # ``hooks`` are maestro's too (maestro.config.hooks): kept as they are.
    result = {k: v for k, v in data.items() if k not in SYMPHONY_TOP_LEVEL or k == "hooks"}
    warnings: list[str] = []
    tracker = dict(result.get("tracker") or {})
    if "kind" in tracker:
        tracker["provider"] = tracker.pop("kind")
    in_progress = str(tracker.get("in_progress_state", "In Progress"))
    if "active_states" in tracker:
        active = _states(tracker.pop("active_states"))
        if isinstance(active, list):
            # maestro never picks up In Progress as new work; it resumes its own lanes.
            tracker["startable_states"] = [s for s in active
                                           if not same_state(str(s), in_progress)]
    if "terminal_states" in tracker:
        tracker["terminal_states"] = _states(tracker["terminal_states"])
    api_key = tracker.pop("api_key", None)
    if isinstance(api_key, str) and api_key.startswith("$"):
        warnings.append(f"tracker.api_key: set api_key_env_var = \"{api_key[1:]}\" under "
                        "[tracker] in maestro.toml (credentials are service settings)")
    elif api_key is not None:
        tracker["api_key"] = api_key  # rejected below: a literal key is a secret in the file
    if "endpoint" in tracker:
        warnings.append("tracker.endpoint: set endpoint under [tracker] in maestro.toml")
        tracker.pop("endpoint")
    if tracker:
        result["tracker"] = tracker
    agent = dict(result.get("agent") or {})
    execution = dict(result.get("execution") or {})
    for key in _AGENT_TO_EXECUTION:
        if key in agent:
            execution[key] = agent.pop(key)
    if execution:
        result["execution"] = execution
    if agent:
        result["agent"] = agent
    elif "agent" in result:
        del result["agent"]
    moved = {
        "polling": "run `maestro daemon --poll-interval-s N`",
        "workspace": "set workspace_root in maestro.toml",
        "codex": "codex.command is honoured; set the *_timeout_s keys under [agent] in "
                 "maestro.toml",
    }
    for key, where in moved.items():
        if key in data:
            warnings.append(f"{key}: ignored in WORKFLOW.md; {where}")
    return result, warnings
