"""The poll loop: a pure tick plan, then reconcile, dispatch, retry and reap."""
