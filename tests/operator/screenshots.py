"""Regenerate docs/img/dashboard.png, lane.png and status.png from a demo stopped mid-run.

    python tests/operator/screenshots.py

Needs Debian's chromium and Playwright, like the dashboard test. The demo is stopped after
its second tick, so the pictures show finished, in-review and needs-a-human lanes at once.
"""

from __future__ import annotations

import io
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.terminal_theme import MONOKAI

from maestro.config.service import parse_config_file
from maestro.forges.local import LocalForge
from maestro.operator.http import OperatorServer
from maestro.operator.status import snapshot
from maestro.operator.status_view import render_status
from maestro.orchestration.orchestrator import Orchestrator
from maestro.scaffold.demo import build_sandbox, reviewer_pass

sys.path.insert(0, str(Path(__file__).parent))
from test_dashboard_browser import chromium_page

DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"


def main() -> None:
    DOCS_IMG.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="maestro-shots-") as tmp:
        repo, _ = build_sandbox(Path(tmp) / "demo")
        config = parse_config_file(repo / "maestro.toml")
        orchestrator = Orchestrator(config)
        forge = LocalForge(repo, "origin")
        orchestrator.tick(wait=True)
        reviewer_pass(repo, forge)
        orchestrator.tick(wait=True)
        reviewer_pass(repo, forge)

        console = Console(record=True, width=118, force_terminal=True, file=io.StringIO())
        render_status(snapshot(config, limit=5), console)
        svg = Path(tmp) / "status.svg"
        console.save_svg(str(svg), title="maestro status", theme=MONOKAI)

        server = OperatorServer(config, "127.0.0.1:0")
        server.start()
        try:
            with chromium_page(width=1280, height=720) as page:
                page.goto(server.url + "/")
                page.wait_for_selector("#live.on")
                page.screenshot(path=str(DOCS_IMG / "dashboard.png"), full_page=True)
                page.goto(server.url + "/lanes/DEMO-1")
                page.wait_for_selector("#live.on")
                page.screenshot(path=str(DOCS_IMG / "lane.png"), full_page=True)
                page.goto(svg.as_uri())
                page.locator("svg").screenshot(path=str(DOCS_IMG / "status.png"))
        finally:
            server.stop()
    print(f"wrote dashboard.png, lane.png and status.png in {DOCS_IMG}")


if __name__ == "__main__":
    main()
