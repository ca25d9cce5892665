"""The agent assets maestro ships and ``maestro assets check|install``.

- :mod:`~maestro.assets.shipped`: the asset tree itself (skills, agent roles, the
  configuration example, the plugin marketplace): where it is, whether it is whole, and
  copying it into a Codex home;
- :mod:`~maestro.assets.homes`: which agent reads the assets from which folder.

Only the command line imports this package; nothing a lane runs depends on it.
"""
