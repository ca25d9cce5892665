"""What keeps the agent's work from reaching maestro: hardened git, allow-listed
environments, the bubblewrap sandbox (docs/spec/security.md)."""
