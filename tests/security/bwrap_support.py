"""Whether real bubblewrap can run here: installed, and allowed to make its namespaces."""

from __future__ import annotations

import functools
import shutil
import subprocess

import pytest


@functools.cache
def bwrap_unusable() -> str | None:
    """Why the sandbox tests cannot run here, or None when they can."""
    binary = shutil.which("bwrap")
    if binary is None:
        return "bubblewrap is not installed (apt-get install bubblewrap)"
    proc = subprocess.run([binary, "--dev-bind", "/", "/", "--unshare-pid", "--proc", "/proc",
                           "--", "true"], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return f"bwrap cannot create its namespaces here: {proc.stderr.strip()[:200]}"
    return None


needs_bwrap = pytest.mark.skipif(bwrap_unusable() is not None,
                                 reason=str(bwrap_unusable()))
