"""Fixtures for the maintainer smoke tests (helpers in ``dev/smoke.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from smoke import ASSETS_ROOT, Lane


@pytest.fixture
def lane(tmp_path: Path) -> Lane:
    """A throwaway repository with the files tracker, local forge and scripted agent."""
    return Lane(tmp_path / "sandbox")


@pytest.fixture
def assets_root() -> Path:
    return ASSETS_ROOT
