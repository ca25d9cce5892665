"""What maestro tells about itself while it runs.

- :mod:`~maestro.observability.logs`: structured logs, JSON lines in the state root for
  machines and short console lines for people, every record with the same lane context.

Nothing is imported here, so a module may import the one it records into without the
others' dependencies.
"""
