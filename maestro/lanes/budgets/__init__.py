"""What the agents spent and may still spend: the token ledgers, the sums per issue and per day,
the budget decisions and the watch on a running session. ``sessions/`` feeds the ledgers; the
orchestrator and ``maestro status`` read the sums."""
