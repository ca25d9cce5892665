"""``maestro protocol probe``: can maestro drive the configured agent?

One module of checks per agent transport, named after it:
:mod:`~maestro.agents.probes.appserver` (``codex app-server``),
:mod:`~maestro.agents.probes.claude_code` and :mod:`~maestro.agents.probes.acp`; what they
share is in :mod:`~maestro.agents.probes.common`. Each check runs offline and costs nothing.
"""

from __future__ import annotations

from maestro.agents.probes.common import ProbeFailed


def probe(command: str, transport: str = "app-server") -> int:
    """The CLI entry: ``PROBE_OK`` and 0, or ``PROBE_FAILED <check>: <detail>`` and 1.

    ``transport`` (``[agent] transport``) picks the module whose checks run; any other value
    than ``"claude-code"`` and ``"acp"`` means the app-server's."""
    try:
        if transport == "claude-code":
            from maestro.agents.probes.claude_code import run_checks as run_claude_checks

            run_claude_checks(command)
        elif transport == "acp":
            from maestro.agents.probes.acp import run_checks as run_acp_checks

            run_acp_checks(command)
        else:
            from maestro.agents.probes.appserver import run_checks

            run_checks(command)
    except ProbeFailed as exc:
        print(f"PROBE_FAILED {exc}")
        return 1
    print("PROBE_OK")
    return 0
