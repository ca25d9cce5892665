"""doit's plugin look-ups within one lane run share one metadata scan
(maestro.doit_plugins)."""

from __future__ import annotations

import importlib.metadata

import doit.plugin
from doit.plugin import PluginDict

from maestro.doit_plugins import one_scan

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
