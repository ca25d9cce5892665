"""What maestro tells about itself while it runs.

- :mod:`~maestro.observability.logs`: structured logs, JSON lines in the state root for
  machines and short console lines for people, every record with the same lane context;
- :mod:`~maestro.observability.telemetry`: what this process counted since it started
  (requests, rate-limit headroom, ticks, deliveries), for ``GET /metrics``. Standard
  library only, at the bottom of the import graph, so any layer may record into it.

Nothing is imported here, so the tracker client records a counter without loading the
log sinks' configuration models.
"""
