"""Repositories maestro writes for a person.

- :mod:`~maestro.scaffold.repository`: ``maestro init``, the files that make any git
  repository runnable with ``doit lane:ID`` (``WORKFLOW.md``, ``maestro.toml``, ``dodo.py``);
- :mod:`~maestro.scaffold.ci`: ``maestro init --ci github``, lanes as CI jobs;
- :mod:`~maestro.scaffold.demo`: ``maestro demo``, a scaffolded sandbox run through the
  whole lifecycle offline (also the test suite's and the benchmarks' sandbox).

Only the command line, the tests and the benchmarks import this package.
"""
