"""Structured logs: JSON lines with the lane context in the state root, secrets redacted."""

from __future__ import annotations

import json
import logging
import logging.handlers
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from maestro.config.service import ServiceConfig
from maestro.fsutil import write_json
from maestro.observability import logs


def records(config: ServiceConfig) -> list[dict[str, Any]]:
    return [json.loads(line) for line in logs.log_path(config).read_text().splitlines()]


@pytest.fixture
def service(tmp_path: Path) -> Iterator[ServiceConfig]:
    config = ServiceConfig().resolved(tmp_path)
    yield config
    logger = logging.getLogger(logs.LOGGER_NAME)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    logs._configured.clear()


def test_lane_phases_log_every_context_field(finished_demo: ServiceConfig) -> None:
    started = [r for r in records(finished_demo)
               if r["event"] == "phase_started" and r["issue"] == "DEMO-1"]
    assert [r["phase"] for r in started][:2] == ["claim", "prepare"]
    last = started[-1]
    assert set(logs.CONTEXT_FIELDS) <= set(last)
    assert last["project_id"] == finished_demo.id
    assert last["branch"] == "maestro/demo-1"
    assert last["workspace_path"] == ".worktrees/DEMO-1"
    assert last["run_id"].startswith("run-") and last["attempt"] == 1


def test_orchestrator_decisions_are_logged(finished_demo: ServiceConfig) -> None:
    events = {(r["event"], r["issue"]) for r in records(finished_demo)}
    assert ("dispatch", "DEMO-1") in events
    assert ("lane_exit", "DEMO-2") in events


def test_a_halt_that_needs_a_human_is_a_warning(finished_demo: ServiceConfig) -> None:
    halts = [r for r in records(finished_demo)
             if r["event"] == "phase_halted" and r["issue"] == "DEMO-2"]
    assert halts and halts[-1]["level"] == "warning"
    assert halts[-1]["outcome"] == "needs_human"


def test_secret_values_never_reach_the_file_or_console(
        service: ServiceConfig, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(service.tracker.api_key_env_var, "lin_api_s3cr3t-value")
    logs.configure(service)
    logs.event(service, "test", "calling with lin_api_s3cr3t-value", header="lin_api_s3cr3t-value")
    text = logs.log_path(service).read_text()
    assert "s3cr3t" not in text
    assert records(service)[0]["header"] == logs.REDACTED
    assert "s3cr3t" not in capsys.readouterr().err


def test_console_lines_are_short_and_human(service: ServiceConfig,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure(service)
    logs.event(service, "dispatch", "dispatch: new work", issue="ABC-1", phase="claim")
    assert capsys.readouterr().err == "maestro: ABC-1 [claim] dispatch: new work\n"


def test_quiet_console_still_writes_the_file(service: ServiceConfig,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure(service, console_level=None)
    logs.event(service, "dispatch", "dispatch: new work", issue="ABC-1")
    assert capsys.readouterr().err == ""
    assert records(service)[0]["issue"] == "ABC-1"


def test_the_file_rotates_by_size(service: ServiceConfig) -> None:
    logger = logs.configure(service, console_level=None)
    handler = next(h for h in logger.handlers
                   if isinstance(h, logging.handlers.RotatingFileHandler))
    assert (handler.maxBytes, handler.backupCount) == (logs.MAX_BYTES, logs.BACKUPS)


def test_agent_session_logs_carry_the_session_id(finished_demo: ServiceConfig) -> None:
    started = [r for r in records(finished_demo)
               if r["event"] == "session_started" and r["issue"] == "DEMO-1"]
    assert started, "the demo's lane logs its agent session"
    first = started[0]
    assert first["thread_id"] and first["turn_id"]
    assert first["session_id"] == f"{first['thread_id']}-{first['turn_id']}"
    assert first["issue_identifier"] == "DEMO-1" and first["issue_id"]


def write_lane(config: ServiceConfig, claim_run: str, activity_run: str) -> None:
    lane = config.lanes_root / "ABC-1"
    lane.mkdir(parents=True)
    (lane / "lease.json").write_text(json.dumps({"run_id": claim_run, "issue_id": "id-1"}))
    (lane / "activity.json").write_text(json.dumps(
        {"run_id": activity_run, "thread_id": "th", "turn_id": "tu", "phase": "agent"}))


def test_lane_records_carry_the_current_runs_session(service: ServiceConfig) -> None:
    write_lane(service, "run-2", "run-2")
    context = logs.lane_context(service, "ABC-1")
    assert (context["session_id"], context["issue_identifier"]) == ("th-tu", "ABC-1")


def test_a_previous_runs_session_is_not_reported_as_current(service: ServiceConfig) -> None:
    write_lane(service, "run-2", "run-1")
    assert logs.lane_context(service, "ABC-1")["session_id"] is None


def test_a_log_file_that_cannot_be_opened_does_not_stop_the_run(
        service: ServiceConfig, capsys: pytest.CaptureFixture[str]) -> None:
    service.state_root.mkdir(parents=True)
    (service.state_root / "logs").write_text("a file where the folder should be")
    logs.event(service, "tick", "first")
    logs.event(service, "tick", "second")
    warnings = [line for line in capsys.readouterr().err.splitlines() if "cannot be" in line]
    assert len(warnings) == 1 and "logging to the console only" in warnings[0]


def test_a_log_write_that_fails_warns_once_and_goes_on(
        service: ServiceConfig, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("needs /dev/full to make every write fail")
    monkeypatch.setattr(logs._FileHandler, "warned", False)
    logs.log_path(service).parent.mkdir(parents=True)
    logs.log_path(service).symlink_to("/dev/full")
    logs.event(service, "tick", "first")
    logs.event(service, "tick", "second")
    err = capsys.readouterr().err
    assert err.count("cannot be written") == 1 and "Traceback" not in err


def test_an_issue_without_a_lane_folder_has_only_its_name(service: ServiceConfig) -> None:
    context = logs.lane_context(service, "ABC-9", phase="plan")
    named = {"project_id": service.id, "issue": "ABC-9", "issue_identifier": "ABC-9",
             "issue_id": "ABC-9", "phase": "plan"}
    assert context == {**dict.fromkeys(logs.CONTEXT_FIELDS), **named}


def test_records_past_the_size_limit_roll_over_whole_and_once(
        service: ServiceConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(logs, "MAX_BYTES", 2000)
    for number in range(20):
        logs.event(service, "skip", f"skipped {number}", issue=f"ABC-{number}")
    folder = logs.log_path(service).parent
    lines = [json.loads(line)["message"] for path in sorted(folder.glob("maestro.jsonl*"))
             for line in path.read_text().splitlines()]
    assert len(list(folder.glob("maestro.jsonl.*"))) >= 2
    assert sorted(lines) == sorted(f"skipped {number}" for number in range(20))


def test_skips_left_out_of_a_tick_are_one_record_counting_them_by_reason(
        service: ServiceConfig) -> None:
    logs.log_plan(service, {"skipped": [{"issue": "ABC-1", "reason": "blocked by ABC-0"}],
                            "skipped_more": {"blocked by ABC-0": 4980,
                                             "not in an active state": 19}})
    summary = [r for r in records(service) if r["event"] == "skip_more"]
    assert len(summary) == 1
    assert summary[0]["message"] == ("and 4999 more: blocked by ABC-0 (4980); "
                                     "not in an active state (19)")


def test_a_log_line_names_the_attempt_of_a_lease_rewritten_since_the_last_line(
        service: ServiceConfig) -> None:
    folder = service.lanes_root / "ABC-3"
    for attempt in (1, 2, 3):
        write_json(folder / "lease.json", {"run_id": f"run-{attempt}", "attempt": attempt})
        assert logs.lane_context(service, "ABC-3")["attempt"] == attempt
    (folder / "lease.json").unlink()
    assert logs.lane_context(service, "ABC-3")["attempt"] is None
