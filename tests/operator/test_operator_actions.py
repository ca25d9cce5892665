"""Page actions (retry, cancel, pause, resume) behind the guards of ``/api/v1/refresh``.

The actions themselves live in :mod:`maestro.operator.actions` (tested with the CLI). When
that module is absent from this build, a tiny stand-in with its interface is installed, so
the HTTP side is tested either way.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import types
from collections.abc import Iterator

import pytest

from maestro.config.service import ServiceConfig
from maestro.errors import InputError
from maestro.operator.http import OperatorServer
from tests.conftest import Sandbox
from tests.operator.conftest import fetch


def _stand_in() -> types.ModuleType:
    module = types.ModuleType("maestro.operator.actions")

    def lane_action(name: str) -> object:
        def act(config: ServiceConfig, identifier: str) -> str:
            if not (config.lanes_root / identifier).is_dir():
                raise InputError(f"no lane for issue {identifier}")
            return f"{name} {identifier}: done"
        return act

    module.retry = lane_action("retry")  # type: ignore[attr-defined]
    module.cancel = lane_action("cancel")  # type: ignore[attr-defined]
    module.pause = lambda config: "dispatch paused"  # type: ignore[attr-defined]
    module.resume = lambda config: "dispatch resumed"  # type: ignore[attr-defined]
    return module


@pytest.fixture
def actions(monkeypatch: pytest.MonkeyPatch) -> None:
    if importlib.util.find_spec("maestro.operator.actions") is None:
        monkeypatch.setitem(sys.modules, "maestro.operator.actions", _stand_in())


@pytest.fixture
def server(actions: None, finished_demo: ServiceConfig) -> Iterator[OperatorServer]:
    server = OperatorServer(finished_demo, "127.0.0.1:0")
    server.start()
    yield server
    server.stop()
    (finished_demo.state_root / "refresh.request").unlink(missing_ok=True)


@pytest.mark.parametrize("path", ["/api/v1/DEMO-1/retry", "/api/v1/DEMO-1/cancel",
                                  "/api/v1/pause", "/api/v1/resume"])
def test_a_cross_origin_action_is_refused(server: OperatorServer, path: str) -> None:
    status, _, body = fetch(server, "POST", path, {"Origin": "http://attacker.example"})
    assert status == 403
    assert json.loads(body)["error"]["code"] == "forbidden"


def test_an_action_from_a_foreign_host_name_is_refused(server: OperatorServer) -> None:
    status, _, _ = fetch(server, "POST", "/api/v1/DEMO-1/retry",
                         {"Host": "attacker.example"})
    assert status == 403


@pytest.mark.parametrize("path", ["/api/v1/DEMO-1/retry", "/api/v1/pause"])
def test_get_on_an_action_is_405(server: OperatorServer, path: str) -> None:
    status, headers, _ = fetch(server, "GET", path)
    assert (status, headers["Allow"]) == (405, "POST")


def test_an_action_with_a_body_over_the_limit_is_refused(server: OperatorServer) -> None:
    status, _, _ = fetch(server, "POST", "/api/v1/DEMO-1/retry", body=b"x" * 5000)
    assert status == 413


def test_an_action_on_a_malformed_identifier_is_400(server: OperatorServer) -> None:
    assert fetch(server, "POST", "/api/v1/$(id)/cancel")[0] == 400


def test_an_action_on_an_unknown_lane_is_issue_not_found(server: OperatorServer) -> None:
    status, _, body = fetch(server, "POST", "/api/v1/NOPE-1/retry")
    assert status == 404
    assert json.loads(body)["error"]["code"] == "issue_not_found"


def test_a_same_origin_action_runs_and_queues_a_tick(server: OperatorServer,
                                                     finished_demo: ServiceConfig) -> None:
    host, port = server.address
    status, _, body = fetch(server, "POST", "/api/v1/pause",
                            {"Origin": f"http://{host}:{port}"})
    assert status == 200, body
    assert json.loads(body)["ok"] is True
    assert (finished_demo.state_root / "refresh.request").is_file()


def _service_events(sandbox: Sandbox, name: str) -> list[dict[str, object]]:
    log = sandbox.repo / ".maestro" / "logs" / "maestro.jsonl"
    return [e for e in map(json.loads, log.read_text().splitlines()) if e.get("event") == name]


@pytest.mark.slow
def test_a_cancel_with_nothing_left_to_do_is_on_record_too(sandbox: Sandbox) -> None:
    """Breaker 21, F8: every cancel a person asks for is in the service log."""
    sandbox.add_issue("NR-1")
    sandbox.lane("NR-1")
    sandbox.maestro("cancel", "NR-1", check=True)
    again = sandbox.maestro("cancel", "NR-1", check=True).stdout
    assert "nothing to do" in again
    assert [e["message"] for e in _service_events(sandbox, "operator_cancel")][-1] == \
        again.strip()


@pytest.mark.slow
def test_a_cancel_of_a_merged_lane_is_on_record(sandbox: Sandbox) -> None:
    sandbox.add_issue("NR-2")
    sandbox.lane("NR-2")
    sandbox.approve("NR-2")
    sandbox.lane("NR-2")
    said = sandbox.maestro("cancel", "NR-2", check=True).stdout.strip()
    assert "merged; nothing to cancel" in said
    assert [e["message"] for e in _service_events(sandbox, "operator_cancel")] == [said]
