"""Webhooks from GitHub and Linear: verified deliveries make the daemon tick at once.

:func:`webhook_routes` is what an app mounts; :mod:`.signatures` checks who sent a
delivery, :mod:`.events` reads which issues it is about, :mod:`.routes` ties them to the
refresh request. Polling stays the fallback: a lost delivery only delays a tick.
"""

from maestro.operator.webhooks.routes import webhook_routes

__all__ = ["webhook_routes"]
