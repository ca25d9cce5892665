"""``maestro protocol probe``: is the installed ``codex`` a usable app-server?"""

from __future__ import annotations


def probe(command: str) -> int:
    print("probe not implemented yet")
    return 1
