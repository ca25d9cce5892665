"""The dashboard in a real headless browser: it loads, shows a running demo, follows ticks.

Only Debian's chromium is used (``/usr/bin/chromium``), driven by Playwright; Playwright never
downloads a browser. Without either, the tests skip and say which one is missing.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from maestro.config.service import parse_config_file
from maestro.forges.local import LocalForge
from maestro.operator.http import OperatorServer
from maestro.orchestration.orchestrator import Orchestrator
from maestro.scaffold.demo import reviewer_pass

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def missing_reason() -> str | None:
    """Why the browser test cannot run here, or ``None`` when it can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[test]')"
    if chromium_path() is None:
        return "Debian chromium is not installed (apt-get install chromium)"
    return None


@contextmanager
def chromium_page(width: int = 1280, height: int = 800) -> Iterator[Any]:
    """A page in a fresh headless chromium with a throwaway profile."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="maestro-chromium-") as profile, \
            sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile, executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS,
            viewport={"width": width, "height": height})
        try:
            yield context.pages[0] if context.pages else context.new_page()
        finally:
            context.close()


pytestmark = pytest.mark.skipif(missing_reason() is not None,
                                reason=str(missing_reason()))

WAIT_MS = 30_000


@pytest.fixture
def running_demo(demo_sandbox: Any, monkeypatch: pytest.MonkeyPatch
                 ) -> Iterator[tuple[Any, Orchestrator, OperatorServer]]:
    """A demo after its first tick (lanes exist, reviews pending) with the server up."""
    if importlib.util.find_spec("maestro.operator.actions") is None:
        from tests.operator.test_operator_actions import _stand_in  # the interface

        monkeypatch.setitem(sys.modules, "maestro.operator.actions", _stand_in())
    config = parse_config_file(demo_sandbox.repo / "maestro.toml")
    orchestrator = Orchestrator(config)
    orchestrator.tick(wait=True)
    server = OperatorServer(config, "127.0.0.1:0")
    server.start()
    yield demo_sandbox, orchestrator, server
    server.stop()


ROWS = "table.all tr[data-issue]"


def row_text(page: Any, issue: str) -> str:
    return str(page.locator(f'table.all tr[data-issue="{issue}"]').inner_text())


def mark_document(page: Any) -> None:
    """Tag the loaded document: a reload would lose the tag."""
    page.evaluate("() => { window.notReloaded = true; }")


def test_dashboard_shows_the_lanes_of_a_running_demo(
        running_demo: tuple[Any, Orchestrator, OperatorServer]) -> None:
    _, _, server = running_demo
    with chromium_page() as page:
        page.goto(server.url + "/")
        page.wait_for_selector(f'{ROWS}[data-issue="DEMO-2"]', timeout=WAIT_MS)
        issues = page.locator(ROWS).evaluate_all("rows => rows.map(r => r.dataset.issue)")
        assert issues == ["DEMO-1", "DEMO-2"]  # two agent slots in the demo's workflow
        assert "DEMO-2" in page.locator("table.needs-human").inner_text()
        assert "totalTokens" in page.locator("#tokens").inner_text()
        page.wait_for_selector("#live.on", timeout=WAIT_MS)  # subscribed to /events
        with page.expect_response(lambda r: r.url.endswith("/api/v1/refresh")) as info:
            page.click("#refresh")  # "tick now"
        assert info.value.status == 202
    assert (server.app.state.config.state_root / "refresh.request").is_file()


def test_dashboard_updates_after_a_tick_without_a_reload(
        running_demo: tuple[Any, Orchestrator, OperatorServer]) -> None:
    sandbox, orchestrator, server = running_demo
    with chromium_page() as page:
        page.goto(server.url + "/")
        page.wait_for_selector("#live.on", timeout=WAIT_MS)
        assert "finished" not in row_text(page, "DEMO-1")
        mark_document(page)
        reviewer_pass(sandbox.repo, LocalForge(sandbox.repo, "origin"))
        orchestrator.tick(wait=True)
        page.wait_for_function(
            """() => {
                const row = document.querySelector('table.all tr[data-issue="DEMO-1"]');
                return row && row.children[1].textContent === "finished";
            }""", timeout=WAIT_MS)
        page.wait_for_selector(f'{ROWS}[data-issue="DEMO-4"]', timeout=WAIT_MS)
        assert page.evaluate("() => window.notReloaded === true")


def test_lane_page_follows_its_lane_live(
        running_demo: tuple[Any, Orchestrator, OperatorServer]) -> None:
    sandbox, orchestrator, server = running_demo
    with chromium_page() as page:
        page.goto(server.url + "/lanes/DEMO-1")
        page.wait_for_selector("#live.on", timeout=WAIT_MS)
        assert page.locator("svg.timeline rect").count() > 0
        assert "I will document" in page.locator("ol.transcript").last.inner_text()
        mark_document(page)
        reviewer_pass(sandbox.repo, LocalForge(sandbox.repo, "origin"))
        orchestrator.tick(wait=True)
        page.wait_for_function("() => Number(document.body.dataset.updates || 0) > 0",
                               timeout=WAIT_MS)
        page.wait_for_function(
            "() => document.querySelector('.pr-state').textContent.startsWith('merged')",
            timeout=WAIT_MS)
        assert page.evaluate("() => window.notReloaded === true")


def test_lane_page_buttons_post_retry_and_cancel(
        running_demo: tuple[Any, Orchestrator, OperatorServer]) -> None:
    _, _, server = running_demo
    with chromium_page() as page:
        page.goto(server.url + "/lanes/DEMO-2")
        page.wait_for_selector("#live.on", timeout=WAIT_MS)
        for action in ("retry", "cancel"):
            with page.expect_response(
                    lambda r, action=action: r.url.endswith(f"/api/v1/DEMO-2/{action}")
            ) as info:
                page.click(f'button[data-action$="/{action}"]')
            assert info.value.status == 200, info.value.text()
            page.wait_for_selector("#flash.ok", timeout=WAIT_MS)
