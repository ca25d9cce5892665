"""The dashboard and the lane page, server-rendered, over a real loopback socket."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from maestro.config.service import ServiceConfig
from maestro.fsutil import write_json
from maestro.operator.http import OperatorServer
from tests.operator.conftest import fetch, kept_folder

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def page(server: OperatorServer, path: str) -> str:
    status, headers, body = fetch(server, "GET", path)
    assert status == 200, body
    assert headers["Content-Type"].startswith("text/html")
    return body.decode()


def test_lane_page_tells_the_lanes_story(demo_server: OperatorServer) -> None:
    html = page(demo_server, "/lanes/DEMO-1")
    assert "Document the greeting" in html  # the issue title
    assert "local://origin/pulls/1" in html and "merged" in html  # PR and its state
    assert "<svg" in html and 'data-label="agent"' in html  # the drawn timeline
    assert "I will document what greet() returns" in html  # the agent's message
    assert "$ python3 -m unittest -q test_hello  → exit 0" in html  # command and exit code
    assert "tool lane_open_pr" in html  # a tool call with its result
    assert "unittest" in html.split("<h2>Validation</h2>")[1]  # validation output
    assert "totalTokens" in html


def test_needs_human_lane_page_says_what_to_do_next(demo_server: OperatorServer) -> None:
    html = page(demo_server, "/lanes/DEMO-2")
    box = html.split('<section class="needs-human">')[1].split("</section>")[0]
    assert "Next:" in box and "remove the needs-attention label" in box
    assert "choosing a license is a maintainer decision" in box  # the agent's own comment


def test_dashboard_lists_needs_human_first_with_links_and_ages(
        demo_server: OperatorServer) -> None:
    html = page(demo_server, "/")
    assert html.index("Needs a human") < html.index("Running") < html.index("Finished lately")
    human = html.split('id="needs-human"')[1].split("</table>")[0]
    assert 'href="/lanes/DEMO-2"' in human and "Choose a license" in human
    assert " ago</td>" in html


def test_partial_returns_only_the_main_element(demo_server: OperatorServer) -> None:
    html = page(demo_server, "/lanes/DEMO-1?partial=1")
    assert html.startswith("<h1>") and "<html" not in html


@pytest.mark.parametrize(("path", "status"), [("/lanes/DEMO-99", 404), ("/lanes/a%00b", 400),
                                              ("/lanes/..", 400), ("/static/../http.py", 404)])
def test_bad_page_requests_are_json_errors(demo_server: OperatorServer, path: str,
                                           status: int) -> None:
    got, _, body = fetch(demo_server, "GET", path)
    assert got == status
    assert json.loads(body)["error"]["message"]


@pytest.fixture
def hostile_lane(tmp_path: Path) -> Iterator[OperatorServer]:
    """A lane whose every agent-written field carries markup and a script URL."""
    config = ServiceConfig().resolved(tmp_path)
    lane = config.lanes_root / "EVIL-1"
    write_json(lane / "lease.json", {"issue": "EVIL-1", "attempt": 1, "run_id": "r",
                                     "title": HOSTILE, "url": "javascript:alert(1)"})
    write_json(lane / "pr.json", {"url": "javascript:alert(2)"})
    write_json(lane / "attention.json", {"error_class": HOSTILE, "reason": HOSTILE,
                                         "at": "2026-01-01T00:00:00+00:00"})
    write_json(lane / "validation.json", {"passed": False, "commands": [
        {"command": HOSTILE, "exit_code": 1, "output_tail": HOSTILE}]})
    records = [{"at": "2026-01-01T00:00:00+00:00", "event": "claimed"},
               {"at": "2026-01-01T00:00:01+00:00", "event": "phase_done", "phase": HOSTILE},
               {"at": "2026-01-01T00:00:02+00:00", "event": "rpc", "method": "item/completed",
                "item": {"type": "agentMessage", "text": HOSTILE}},
               {"at": "2026-01-01T00:00:03+00:00", "event": "rpc", "method": "item/completed",
                "item": {"type": "commandExecution", "command": HOSTILE, "exit_code": 2,
                         "output": HOSTILE}},
               {"at": "2026-01-01T00:00:04+00:00", "event": "tool", "tool": HOSTILE,
                "ok": True, "result": HOSTILE}]
    (lane / "journal.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    (lane / "tools.jsonl").write_text(json.dumps(
        {"tool": "issue_comment", "ok": True, "at": "2026-01-01T00:00:05+00:00",
         "args": {"body": HOSTILE + "\n```maestro-checkpoint\n" + json.dumps(
             {"kind": "checkpoint", "phase": HOSTILE, "focus": HOSTILE,
              "next_action": HOSTILE}) + "\n```"}}) + "\n")
    server = OperatorServer(config, "127.0.0.1:0")
    server.start()
    yield server
    server.stop()


@pytest.mark.parametrize("path", ["/lanes/EVIL-1", "/"])
def test_agent_written_markup_is_inert(hostile_lane: OperatorServer, path: str) -> None:
    status, headers, body = fetch(hostile_lane, "GET", path)
    html = body.decode()
    assert status == 200
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert 'href="javascript:' not in html
    assert "script-src 'self'" in headers["Content-Security-Policy"]  # and no inline script
    assert "<script>" not in html.replace('<script src="/static/maestro.js" defer></script>', "")


def test_hostile_lane_page_shows_every_field_escaped(hostile_lane: OperatorServer) -> None:
    html = fetch(hostile_lane, "GET", "/lanes/EVIL-1")[2].decode()
    # title, needs-human box, checkpoint, timeline label, message, command, tool, validation
    assert html.count("&lt;script&gt;") >= 8


def test_dashboard_lists_kept_folders_with_their_names_escaped(
        demo_server: OperatorServer, finished_demo: ServiceConfig) -> None:
    assert 'id="kept-work"' not in page(demo_server, "/")
    with kept_folder(finished_demo, f"{HOSTILE[:19]}.set-aside-20261201T000000Z"):
        html = page(demo_server, "/")
    kept = html.split('id="kept-work"')[1].split("</table>")[0]
    assert "set aside" in kept and "&lt;script&gt;" in kept and "<script>" not in kept
