"""doit's plugin look-ups within one lane run share one metadata scan
(maestro.pipeline.doit_plugins)."""

from __future__ import annotations

import importlib.metadata
import sys
from collections.abc import Iterator
from pathlib import Path

import doit.plugin
import pytest
from doit.plugin import PluginDict

from maestro.pipeline import doit_plugins
from maestro.pipeline.doit_plugins import one_scan

POINT = importlib.metadata.EntryPoint(name="fancy", value="fancy.reporter:Reporter",
                                      group="doit.REPORTER")


def counted_scan(scans: list[int]) -> importlib.metadata.EntryPoints:
    scans.append(1)
    return importlib.metadata.EntryPoints([POINT])


def plugins(category: str) -> dict[str, str]:
    found = PluginDict()
    found.add_plugins({}, category)
    return {name: entry.location for name, entry in found.items()}


def test_the_three_look_ups_of_a_run_share_one_scan() -> None:
    scans: list[int] = []
    with one_scan(lambda: counted_scan(scans)):
        assert plugins("COMMAND") == {}
        assert plugins("BACKEND") == {}
        assert plugins("REPORTER") == {"fancy": "fancy.reporter:Reporter"}
    assert len(scans) == 1


def test_the_next_run_scans_again() -> None:
    scans: list[int] = []
    for _ in range(2):
        with one_scan(lambda: counted_scan(scans)):
            plugins("REPORTER")
    assert len(scans) == 2


def test_doits_own_look_up_is_back_after_the_run() -> None:
    original = doit.plugin.entry_points_impl
    with one_scan(lambda: importlib.metadata.EntryPoints([])):
        assert doit.plugin.entry_points_impl is not original
    assert doit.plugin.entry_points_impl is original


@pytest.fixture
def nothing_ahead() -> Iterator[None]:
    doit_plugins._AHEAD.clear()
    yield
    doit_plugins._AHEAD.clear()


def test_a_scan_made_ahead_is_used_while_the_path_folders_are_unchanged(
        nothing_ahead: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.metadata, "entry_points",
                        lambda: importlib.metadata.EntryPoints([POINT]))
    doit_plugins.scan_ahead()
    monkeypatch.setattr(importlib.metadata, "entry_points",
                        lambda: importlib.metadata.EntryPoints([]))
    assert list(doit_plugins.current_scan().select(group="doit.REPORTER")) == [POINT]


def test_a_distribution_installed_since_the_scan_ahead_is_found(
        nothing_ahead: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    site.mkdir()
    monkeypatch.setattr(sys, "path", [str(site)])
    monkeypatch.setattr(importlib.metadata, "entry_points",
                        lambda: importlib.metadata.EntryPoints([]))
    doit_plugins.scan_ahead()
    (site / "fancy-1.0.dist-info").mkdir()  # what an install does to the folder
    monkeypatch.setattr(importlib.metadata, "entry_points",
                        lambda: importlib.metadata.EntryPoints([POINT]))
    assert list(doit_plugins.current_scan().select(group="doit.REPORTER")) == [POINT]
