"""Damaged lane files are set aside before a lane runs (DESIGN trust rule 6).

maestro writes every lane file atomically, so an empty, truncated or binary one was damaged
from outside (a full disk, an editor, a partial copy). Readers already treat such a file as
absent (:func:`maestro.fsutil.read_json`); before a lane runs, :func:`set_aside` also
renames it to ``<name>.damaged`` (kept for a person to look at), so that doit, which only
asks whether a phase's target exists, runs the phase again instead of trusting it.

The facts that side effects depend on — the claim (``lease.json``), the agent's result
and its validation, the PR (``pr.json``), the merge and the closeout — are not guessed:
when one of them is damaged, the claim is set aside too, and the claim phase rebuilds all
of them from maestro's
``maestro:state`` comments on the issue and the forge's PR, as a fresh CI runner does
(:mod:`maestro.lanes.record.rebuild`).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

from maestro.errors import ConfigError
from maestro.fsutil import json_problem, read_json, warn_once
from maestro.lanes.record.state import LaneState

if TYPE_CHECKING:
    from maestro.config.template_checks import TemplateChecks

#: Files whose content a later side effect relies on; damage to one re-derives them all
#: (``result.json`` and ``validation.json`` too: without them a lane in review would run
#: its agent phase again).
FACTS = ("lease.json", "result.json", "validation.json", "pr.json", "merge.json",
         "closeout.json")
#: The keys every writer of a fact puts in it: a fact that parses but lacks one (``{}``, a
#: person's hand edit) would be trusted by doit and read as "no PR", "no head" downstream.
FACT_KEYS: dict[str, tuple[str, ...]] = {
    "lease.json": ("run_id", "attempt"),
    "result.json": ("disposition",),
    "validation.json": ("head", "passed"),
    "pr.json": ("number",),
    "merge.json": ("commit",),
    "closeout.json": ("state",),
}
SNAPSHOT = "workflow.snapshot.md"
SUFFIX = ".damaged"


def _snapshot_problem(path: Path, checks: TemplateChecks | None = None) -> str | None:
    from maestro.config.workflow import parse_workflow

    try:
        text = path.read_bytes().decode("utf-8")
        if not text.strip():
            return "empty"  # would parse as the defaults: no validation commands at all
        parse_workflow(text, path, checks)
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        return "not UTF-8 text"
    except ConfigError as exc:
        return f"not a valid workflow ({exc})"
    return None


def content_problem(name: str, value: object) -> str | None:
    """Why a lane file's parsed ``value`` cannot be what maestro wrote there, or None.

    Pure: every lane file is a JSON object, and a fact holds its :data:`FACT_KEYS`."""
    if not isinstance(value, dict):
        return "not a JSON object"
    missing = [key for key in FACT_KEYS.get(name, ()) if key not in value]
    return f"missing {', '.join(missing)}" if missing else None


def damaged_files(folder: Path, checks: TemplateChecks | None = None) -> dict[Path, str]:
    """Every damaged JSON file of the lane folder (and its ``turns/``), with why;
    ``checks``: workflow bodies whose template check passed (see :func:`set_aside`)."""
    found: dict[Path, str] = {}
    candidates = [*folder.glob("*.json"), *folder.glob("turns/*.json")]
    for path in sorted(candidates):
        problem = json_problem(path)
        if problem is None and path.exists():
            problem = content_problem(path.name if path.parent == folder else "",
                                      read_json(path))
        if problem is not None:
            found[path] = problem
    snapshot = _snapshot_problem(folder / SNAPSHOT, checks)
    if snapshot is not None:
        found[folder / SNAPSHOT] = snapshot
    return found


def set_aside(state: LaneState, checks: TemplateChecks | None = None) -> list[str]:
    """Rename damaged files to ``<name>.damaged``; returns the names set aside.
    ``checks`` (the state root's) spares re-checking a snapshot body that passed before.

    Safe to call while no other process works the lane (the caller holds its lock, or
    the lane is about to be claimed); an intact lane costs one read of each small file."""
    if not state.dir.is_dir():
        return []
    damaged = damaged_files(state.dir, checks)
    if any(path.name in FACTS for path in damaged) and (state.dir / "lease.json").exists():
        damaged.setdefault(state.dir / "lease.json",
                           "set aside so the claim rebuilds the lane from the tracker")
    moved = []
    for path, problem in damaged.items():
        warn_once(path, problem)
        with contextlib.suppress(OSError):
            os.replace(path, path.with_name(path.name + SUFFIX))
            moved.append(str(path.relative_to(state.dir)))
    if moved:
        with contextlib.suppress(OSError):
            state.journal("damaged_files_set_aside", files=moved)
    return moved
