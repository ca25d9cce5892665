"""Agents maestro drives, one module per transport: the Codex app-server (``appserver``),
Claude Code (``claude_code``) and any ACP agent (``acp``); what they share (``spawn``,
``child``, the issue tools in ``tools`` and ``mcp_tools``); and a probe per transport
(``probes/``)."""
