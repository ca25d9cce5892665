"""Warm lane workers: the daemon forks lanes from a pre-imported fork server (a zygote)
instead of starting a cold interpreter per dispatch (``[dispatch] warm_workers``).

``zygote`` is the server process, ``client`` the daemon's half (Popen-like lane handles),
``freshness`` decides when a zygote's code or environment is stale, ``protocol`` is the
message format between the two. Anything unexpected falls back to a cold start.
"""
