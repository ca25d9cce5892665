"""This maestro process itself, not the children it starts (those are ``containment/``).

- :mod:`~maestro.process.invocation`: how a person runs this very ``maestro`` again, for
  the commands maestro prints;
- :mod:`~maestro.process.faults`: named points where a test makes the process SIGKILL
  itself (crash-resume tests, the fault matrix); one dictionary lookup in production;
- :mod:`~maestro.process.exit`: leaving the heap to the operating system at exit.

Standard library only and nothing imported here: any layer may use a module of it.
"""
