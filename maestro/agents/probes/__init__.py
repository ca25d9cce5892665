"""``maestro protocol probe``: one module of checks per agent transport.

Each module answers "can maestro drive this agent?" offline and at no cost, for the
transport it is named after (:mod:`~maestro.agents.probes.appserver`,
:mod:`~maestro.agents.probes.claude_code`, :mod:`~maestro.agents.probes.acp`).
"""
