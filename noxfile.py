"""Maintainer sessions: ``nox -s tests lint typecheck smoke bench chaos``.

Each session builds its own virtualenv from the interpreter running nox, so a fresh machine
needs nothing but Python (and git, which the lane tests drive). ``smoke`` installs maestro
as a wheel, not in editable mode, so it also proves the wheel ships the Codex assets that
``maestro assets install`` copies.
"""

from __future__ import annotations

from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
nox.options.sessions = ["tests", "lint", "typecheck", "smoke"]
nox.options.error_on_missing_interpreters = True


@nox.session
def tests(session: nox.Session) -> None:
    """The whole pytest suite (tests/ and dev/), against an editable install."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff over the repository, with the settings in pyproject.toml."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".", *session.posargs)


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the package (pyproject.toml), the smoke helpers and skill scripts."""
    session.install("-e", ".[test]", "mypy>=1.11")
    session.run("mypy", *session.posargs)
    scripts = sorted(str(p.relative_to(ROOT)) for p in ROOT.glob(".codex/skills/*/scripts/*.py"))
    session.run("mypy", "--strict", "dev/smoke.py", *scripts)


@nox.session
def smoke(session: nox.Session) -> None:
    """The maintainer smoke tests of the shipped skills, agent roles and plugin (dev/)."""
    session.install(".[test]")
    session.run("pytest", "dev", "-p", "no:cacheprovider", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Every ``bench/bench_*.py`` script, one after the other; any failure fails the session."""
    scripts = sorted(ROOT.glob("bench/bench_*.py"))
    if not scripts:
        session.skip("no bench/bench_*.py scripts yet")
    session.install(".[test]")
    for script in scripts:
        session.run("python", str(script.relative_to(ROOT)), *session.posargs)


@nox.session
def chaos(session: nox.Session) -> None:
    """The long chaos series (docs/reliability.md): 20 seeds × 10 random SIGKILLs of a
    daemon over eight issues, every invariant checked. Arguments replace the defaults, e.g.
    ``nox -s chaos -- --seed 7 --runs 3 --kills 20`` or ``-- --schedule group@1.2,...``."""
    session.install("-e", ".[test]")
    args = session.posargs or ["--seed", "1", "--runs", "20", "--kills", "10"]
    session.run("python", "-m", "tests.chaos.chaos", *args)
