"""Which folders under ``<state_root>/lanes/`` are lanes: the one lister every reader uses.

A person may leave anything there (``ABC-1 copy``, an editor's backup, a stray file); a
folder whose name is not a valid issue identifier is not a lane and must never stop the
poll tick, ``maestro status``, the dashboard or a lane's doit run. Callers get the lanes
and the strays apart, and decide how (and how often) to warn about the strays.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from maestro.errors import InputError
from maestro.ids import check_identifier

__all__ = ["LaneListing", "folder_names", "folder_scan", "list_lanes", "listing_of"]


@dataclass(frozen=True)
class LaneListing:
    """``identifiers``: lane folders in name order; ``strays``: ``(path, why)`` of every
    other folder, each ``why`` one sentence fit for a warning."""

    identifiers: tuple[str, ...] = ()
    strays: tuple[tuple[Path, str], ...] = ()

    def warnings(self) -> list[str]:
        """One line per stray folder, naming it."""
        return [f"{path}: not a lane folder, skipped ({why})" for path, why in self.strays]


def list_lanes(lanes_root: Path) -> LaneListing:
    """The lane folders under ``lanes_root`` (none when it does not exist). Plain files
    are ignored silently; folders with an unusable name are returned as strays."""
    try:
        names = folder_names(lanes_root)
    except (FileNotFoundError, NotADirectoryError):
        return LaneListing()
    return listing_of(lanes_root, names)


def folder_names(lanes_root: Path) -> list[str]:
    """The names of the folders under ``lanes_root``, sorted: one directory read, as
    ``is_dir`` answers from it on most filesystems (``OSError`` when it cannot be read)."""
    return folder_scan(lanes_root)[0]


def folder_scan(lanes_root: Path) -> tuple[list[str], bool]:
    """:func:`folder_names`, and whether any entry is a symbolic link (its target may
    change without the folder changing; ``OSError`` when it cannot be read)."""
    names: list[str] = []
    links = False
    with os.scandir(lanes_root) as entries:
        for entry in entries:
            links = links or entry.is_symlink()
            if _is_dir(entry):
                names.append(entry.name)
    return sorted(names), links


def listing_of(lanes_root: Path, names: list[str]) -> LaneListing:
    """The listing of those folder names: lanes and strays apart."""
    identifiers: list[str] = []
    strays: list[tuple[Path, str]] = []
    for name in names:
        try:
            identifiers.append(check_identifier(name))
        except InputError as exc:
            strays.append((lanes_root / name, str(exc)))
    return LaneListing(tuple(identifiers), tuple(strays))


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False
