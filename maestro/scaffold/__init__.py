"""Repositories maestro writes for a person.

- :mod:`~maestro.scaffold.repository`: ``maestro init``, the files that make any git
  repository runnable with ``doit lane:ID`` (``WORKFLOW.md``, ``maestro.toml``, ``dodo.py``);
- :mod:`~maestro.scaffold.ci`: ``maestro init --ci github``, lanes as CI jobs.

Only the command line and the tests import this package.
"""
