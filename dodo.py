"""doit entry point: ``doit lane:ABC-1`` runs one maestro lane as far as it can go.

The phases come from ``pipelines/lane.yaml``; ``doit list`` shows them. Configuration is
found like ``maestro`` finds it (``$MAESTRO_CONFIG``, ``./tmp/maestro.toml``,
``./maestro.toml``, the user config dir).
"""

from maestro.pipeline import doit_namespace

globals().update(doit_namespace())
