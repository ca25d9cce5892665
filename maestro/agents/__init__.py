"""Agents maestro drives: any program speaking the Codex app-server protocol over stdio."""
