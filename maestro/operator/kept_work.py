"""Work maestro kept for a person, as ``maestro status`` lists it (``kept_work``).

maestro never deletes what exists nowhere else (docs/guide/recovery.md), and never removes
what it kept either: a person looks through it and deletes it. Three kinds of folder in the
workspace root hold such work, and a person who does not know they are there cannot:

* ``stopped``: a lane that ended without a merge (a cancel, an issue moved to a terminal
  state) kept its worktree, ``<root>/<ID>``, for uncommitted files or commits no remote
  branch holds; its ``cleanup.json`` says what (``worktree_kept``);
* ``kept``: ``maestro retry`` or ``maestro lane --reset`` moved such a worktree out of the
  new lane's way, to ``<root>/<ID>.kept-<UTC time>``;
* ``set_aside``: the worktree healing found a worktree git could no longer use and moved it,
  whole, to ``<root>/<ID>.set-aside-<UTC time>[-N]`` before adding the lane's worktree again.

Only folders are listed: a branch kept alone (the worktree folder already gone, or
``<branch>-kept-<time>``) is git's to list (``git branch --list 'maestro/*-kept-*'``), and
status runs no git. :func:`kept_work` is pure; :func:`folder_names` is the one read.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from maestro.lanes.worktree.retire import KEPT
from maestro.lanes.worktree.worktree_health import SET_ASIDE

__all__ = ["KINDS", "folder_names", "kept_work"]

#: ``<ID><marker><stamp>`` with an optional ``-N`` where the name was taken.
_MOVED = re.compile(rf"(?P<issue>.+?)(?P<marker>{re.escape(KEPT)}|{re.escape(SET_ASIDE)})"
                    r"(?P<stamp>\d{8}T\d{6}Z)(?:-\d+)?")

#: Each kind, with what it is in words (the text view and the dashboard show it).
KINDS: Mapping[str, str] = {
    "stopped": "the lane ended without a merge and kept its worktree",
    "kept": "moved out of the new lane's way by `maestro retry` or `maestro lane --reset`",
    "set_aside": "a worktree git could no longer use, set aside before the lane's "
                 "worktree was added again (its .git renamed .git.set-aside)",
}


def folder_names(root: Path) -> tuple[str, ...]:
    """The names of the real folders (no symbolic link) in ``root``, sorted; ``()`` when
    ``root`` is absent or unreadable (status must show the rest)."""
    try:
        with os.scandir(root) as entries:
            return tuple(sorted(entry.name for entry in entries
                                if entry.is_dir(follow_symlinks=False)))
    except OSError:
        return ()


def shown(name: str) -> str:
    """A folder name as text any reader can take: bytes that are not UTF-8 (which
    :func:`os.scandir` hands over as lone surrogates, which no encoder accepts) as
    ``\\xff`` escapes (breaker 27 F8: the dashboard answered 500 while such a folder
    existed)."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _stamp(text: str) -> str | None:
    try:
        return datetime.strptime(text, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).isoformat()
    except ValueError:
        return None


def kept_work(root: Path, names: Iterable[str],
              lanes: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The kept folders among ``names`` (folder names in the workspace ``root``, given as
    paths are to be shown: repository-relative in the snapshot) and the snapshot's lane
    entries: one ``{"issue", "kind", "path", "since", "detail"}`` each, oldest first. Pure.

    ``since`` is an ISO time (the move's stamp, or the stop's ``cleaned_at``) or None;
    ``detail`` is the stop's own words for a ``stopped`` lane, the kind's otherwise."""
    present = set(names)
    found: list[dict[str, Any]] = []
    for lane in lanes:
        issue = str(lane.get("issue") or "")
        if lane.get("phase") == "finished" and lane.get("worktree_kept") and issue in present:
            found.append({"issue": issue, "kind": "stopped", "path": str(root / issue),
                          "since": lane.get("kept_at"), "detail": str(lane["worktree_kept"])})
    for name in sorted(present):
        match = _MOVED.fullmatch(name)
        if match is None:
            continue
        kind = "kept" if match["marker"] == KEPT else "set_aside"
        found.append({"issue": shown(match["issue"]), "kind": kind,
                      "path": shown(str(root / name)),
                      "since": _stamp(match["stamp"]), "detail": KINDS[kind]})
    return sorted(found, key=lambda item: (item["since"] or "", item["path"]))
