"""Configuration: ``maestro.toml`` (the machine), ``WORKFLOW.md`` (the repository's
policy) and Symphony-style files read as maestro policy."""
