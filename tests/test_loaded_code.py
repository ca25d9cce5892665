"""A zygote's own freshness check: the code it loaded is still the code on disk."""

from __future__ import annotations

import importlib
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from maestro.orchestration.warm import loaded_code


@pytest.fixture
def module(tmp_path: Path) -> Iterator[Path]:
    """A module file on ``sys.path`` (not imported yet), removed from both afterwards."""
    path = tmp_path / "zygote_probe_module.py"
    path.write_text("VERSION = 1\n")
    sys.path.insert(0, str(tmp_path))
    yield path
    sys.path.remove(str(tmp_path))
    sys.modules.pop("zygote_probe_module", None)


def test_code_loaded_before_the_zygote_started_and_unchanged_is_fresh(module: Path) -> None:
    time.sleep(0.2)  # older than the start by more than the file clock's slack
    since = time.time_ns()
    importlib.import_module("zygote_probe_module")
    assert loaded_code.changed(loaded_code.take(since)) is None


def test_a_loaded_file_changed_after_the_imports_is_stale(module: Path) -> None:
    time.sleep(0.2)
    since = time.time_ns()
    importlib.import_module("zygote_probe_module")
    loaded = loaded_code.take(since)
    module.write_text("VERSION = 2\n")
    assert loaded_code.changed(loaded) == f"{module} changed on disk since the zygote started"


def test_a_file_changed_during_the_imports_is_stale_though_its_stamp_is_the_new_one(
        module: Path) -> None:
    since = time.time_ns()
    module.write_text("VERSION = 2\n")  # after the start, before the stamps are taken
    importlib.import_module("zygote_probe_module")
    assert loaded_code.changed(loaded_code.take(since)) is not None


def test_a_loaded_file_removed_is_stale(module: Path) -> None:
    time.sleep(0.2)
    since = time.time_ns()
    importlib.import_module("zygote_probe_module")
    loaded = loaded_code.take(since)
    module.unlink()
    assert loaded_code.changed(loaded) == f"{module} is gone since the zygote loaded it"
