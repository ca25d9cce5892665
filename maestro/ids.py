"""Issue identifiers become folder and branch names, so they are checked before use.

A tracker is outside input: an identifier such as ``../x`` or ``/etc`` must never become a
path, and one with shell metacharacters must never reach a command line. Also here: the
shape of a full git object name, which caches trust as a key only when it names one commit.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime

from maestro.errors import InputError

_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
#: A full git object name, SHA-1 (40 hex digits) or SHA-256 (64), lower case as git prints
#: it; use ``fullmatch``. An abbreviation or a ref name may mean another commit tomorrow.
FULL_HASH = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")


def _clip(identifier: object) -> str:
    """The identifier as echoed in an error: a repr cut to 80 characters."""
    text = repr(identifier)
    return text if len(text) <= 80 else text[:77] + "..."


def check_identifier(identifier: str) -> str:
    """Return ``identifier`` if it is safe as one path segment and one branch component."""
    if not isinstance(identifier, str) or not _SAFE_ID.fullmatch(identifier):
        raise InputError(
            f"issue identifier {_clip(identifier)} is not usable as a lane name: expected 1-64 "
            "characters of letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    if ".." in identifier or identifier.endswith((".", ".lock")):
        raise InputError(
            f"issue identifier {_clip(identifier)} is not usable as a lane name: "
            "'..', a trailing '.' and a '.lock' suffix are not allowed"
        )
    return identifier


def branch_name(identifier: str, prefix: str = "maestro/") -> str:
    """Deterministic lane branch: the same issue always maps to the same branch."""
    return f"{prefix}{check_identifier(identifier).lower()}"


def new_run_id() -> str:
    """Sortable, unique run id: UTC timestamp plus randomness."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"run-{stamp}-{secrets.token_hex(3)}"


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso_now() -> str:
    return utc_now().isoformat(timespec="seconds")
