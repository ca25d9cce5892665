"""WORKFLOW.md bodies that already passed the template check, remembered on disk.

Every parse of a workflow runs :func:`maestro.config.prompt.check_template`, which needs
Liquid: its import is a large share of a lane process's start-up, and the lane's second
process (review wait to clean-up) parses the lane's workflow snapshot but renders no
prompt. This keeps the keys of bodies that passed, so such a process skips Liquid.

Why skipping is exact:

* The check is a pure function of the body and the rules (``prompt.py``'s names and
  filters, and Liquid's parser); the file name and first line only shape its error
  message. A key is the SHA-256 of the rules' fingerprint and the body, so a body that
  passed passes again, and any change of either misses.
* Only passes are kept; a failing body is checked (and fails) every time, as before.
* The rules' fingerprint is the content of ``prompt.py`` and the stat identity of Liquid's
  package file (found without importing it): upgrading or reinstalling Liquid, or editing
  the rules, misses.
* What a forged entry could do (anyone who can write the state folder): let a body with a
  name no branch would render pass the load-time lint; rendering stays strict and still
  refuses it when that branch is taken. Nothing more is trusted from the file.

The file is a JSON list of at most :data:`KEEP` keys; a damaged or foreign file reads as
empty and is rewritten.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import json
import os
from pathlib import Path

from maestro.fsutil import stat_identity, write_atomic

CACHE_NAME = "template-checks.json"

#: Keys kept (the newest); a repository's workflow bodies over time, with room to spare.
KEEP = 64


@functools.cache
def rules_fingerprint() -> str:
    """What decides the check besides the body: ``prompt.py``'s bytes and the identity of
    Liquid's package file. Computed once per process."""
    digest = hashlib.sha256((Path(__file__).parent / "prompt.py").read_bytes())
    spec = importlib.util.find_spec("liquid")
    origin = spec.origin if spec is not None else None
    if origin:
        with contextlib.suppress(OSError):
            digest.update(repr((origin, tuple(stat_identity(os.stat(origin))))).encode())
    return digest.hexdigest()


def body_key(body: str) -> str:
    """Pure given the rules: the key of ``body``."""
    return hashlib.sha256(f"{rules_fingerprint()}\0{body}".encode()).hexdigest()


class TemplateChecks:
    """The passed-bodies file in ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / CACHE_NAME

    @classmethod
    def of_state(cls, state_root: Path) -> TemplateChecks:
        """The file of a state root (``<state_root>/cache``, beside the other caches)."""
        return cls(state_root / "cache")

    def _keys(self) -> list[str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []
        if not isinstance(data, list) or not all(isinstance(k, str) for k in data):
            return []
        return data

    def passed(self, body: str) -> bool:
        """Whether ``body`` passed the check under the current rules."""
        return body_key(body) in self._keys()

    def remember(self, body: str) -> None:
        """Record that ``body`` passed; best effort (a read-only state folder only costs
        the next process a check)."""
        key = body_key(body)
        keys = [k for k in self._keys() if k != key] + [key]
        with contextlib.suppress(OSError):
            write_atomic(self.path, json.dumps(keys[-KEEP:]) + "\n")
