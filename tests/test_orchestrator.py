"""The poll loop: limits, blockers, retries with backoff, reconciliation, restarts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

from maestro.ids import utc_now
from maestro.orchestration.orchestrator import Orchestrator
from tests.conftest import Sandbox

SLOW = """
steps:
  - write: {path: slow.txt, content: "slow\\n"}
  - commit: "slow"
  - sleep: 4
  - handoff: "slow work"
"""


def wait_for(predicate, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition did not hold in time")


def test_global_limit_caps_dispatch_with_ten_eligible_issues(sandbox: Sandbox) -> None:
    sandbox.edit_workflow("max_concurrent_agents = 2", "max_concurrent_agents = 3")
    for n in range(10):
        sandbox.add_issue(f"CC-{n}", script=SLOW.replace("slow.txt", f"slow-{n}.txt"))
    orchestrator = Orchestrator(sandbox.config)
    plan = orchestrator.tick(wait=False)
    try:
        assert len(plan.dispatch) == 3
        assert sum("no free agent slot" in s["reason"] for s in plan.skipped) == 7
        wait_for(lambda: all((sandbox.repo / ".maestro/lanes" / i / "activity.json").exists()
                             for i in plan.issues()))
        second = orchestrator.plan()
        assert [i for i in second.dispatch if i["reason"] == "new work"] == []
    finally:
        orchestrator.reap(wait=True)


def test_per_state_limit_holds(sandbox: Sandbox) -> None:
    sandbox.edit_workflow("[execution]",
                          "[execution.max_concurrent_agents_by_state]\nTodo = 1\n\n[execution]")
    for n in range(4):
        sandbox.add_issue(f"PS-{n}", script=SLOW.replace("slow.txt", f"slow-{n}.txt"))
    orchestrator = Orchestrator(sandbox.config)
    plan = orchestrator.tick(wait=False)
    try:
        assert len(plan.dispatch) == 1
        assert sum("no free slot for state Todo" in s["reason"] for s in plan.skipped) == 3
        wait_for(lambda: sandbox.issue(plan.issues()[0]).state == "In Progress")
        assert orchestrator.plan().dispatch == []
    finally:
        orchestrator.reap(wait=True)


def test_priority_then_age_orders_dispatch(sandbox: Sandbox) -> None:
    sandbox.edit_workflow("max_concurrent_agents = 2", "max_concurrent_agents = 1")
    sandbox.add_issue("OR-1", priority=3)
    sandbox.add_issue("OR-2", priority=1)
    sandbox.add_issue("OR-3")
    assert Orchestrator(sandbox.config).plan(dry_run=True).issues() == ["OR-2"]


def test_blocked_issue_starts_after_its_blocker_is_done(sandbox: Sandbox) -> None:
    sandbox.add_issue("BL-1")
    sandbox.add_issue("BL-2", blocked_by=["BL-1"])
    orchestrator = Orchestrator(sandbox.config)
    first = orchestrator.tick()
    assert first.issues() == ["BL-1"]
    assert {"issue": "BL-2", "reason": "blocked by BL-1"} in first.skipped
    sandbox.approve("BL-1")
    orchestrator.tick()
    assert sandbox.issue("BL-1").state == "Done"
    assert orchestrator.tick().issues() == ["BL-2"]


def fast_forward(sandbox: Sandbox, identifier: str) -> float:
    """Make the queued retry due now; returns the backoff it had."""
    path = sandbox.repo / ".maestro" / "retries.json"
    data = json.loads(path.read_text())
    entry = data[identifier]
    due = datetime.fromisoformat(entry["due_at"])
    entry["due_at"] = (utc_now() - timedelta(seconds=1)).isoformat()
    path.write_text(json.dumps(data))
    return (due - utc_now()).total_seconds()


def test_retries_back_off_exponentially_and_stop_at_the_budget(sandbox: Sandbox) -> None:
    sandbox.add_issue("RT-1", script="steps:\n  - crash: true\n")
    orchestrator = Orchestrator(sandbox.config)
    orchestrator.tick()
    assert sandbox.outcome("RT-1") == "retry"
    assert 8 < fast_forward(sandbox, "RT-1") <= 10
    plan = orchestrator.tick()
    assert plan.dispatch[0]["reason"] == "retry failure (attempt 2)"
    assert sandbox.lane_file("RT-1", "lease.json")["attempt"] == 2
    assert 18 < fast_forward(sandbox, "RT-1") <= 20
    orchestrator.tick()
    assert sandbox.outcome("RT-1") == "needs_human"
    issue = sandbox.issue("RT-1")
    assert issue.state == "Todo"
    assert "maestro:needs-attention" in issue.labels
    assert not (sandbox.repo / ".maestro" / "retries.json").read_text().count("RT-1")
    assert orchestrator.tick().dispatch == []


def test_a_retry_left_by_a_daemon_killed_before_reaping_is_released(sandbox: Sandbox) -> None:
    sandbox.add_issue("RT-3", script="steps:\n  - crash: true\n")
    first = Orchestrator(sandbox.config)
    first.tick()
    fast_forward(sandbox, "RT-3")
    first.tick()
    fast_forward(sandbox, "RT-3")
    first.tick(wait=False)  # the last attempt; this daemon never reaps it (killed)
    first.running.pop("RT-3").wait()
    assert sandbox.outcome("RT-3") == "needs_human"
    assert "RT-3" in json.loads((sandbox.repo / ".maestro" / "retries.json").read_text())

    plan = Orchestrator(sandbox.config).tick()

    assert plan.retries_dropped == [{"issue": "RT-3", "reason": "lane needs a human"}]
    assert "RT-3" not in json.loads((sandbox.repo / ".maestro" / "retries.json").read_text())


def test_a_retry_is_released_when_the_issue_is_no_longer_active(sandbox: Sandbox) -> None:
    sandbox.add_issue("RT-2", script="steps:\n  - crash: true\n")
    orchestrator = Orchestrator(sandbox.config)
    orchestrator.tick()
    fast_forward(sandbox, "RT-2")
    sandbox.tracker.transition("RT-2", "Backlog")
    plan = orchestrator.tick()
    assert plan.issues() == []
    assert sandbox.outcome("RT-2") == "interrupted"


def test_issue_cancelled_mid_run_is_terminated_and_cleaned(sandbox: Sandbox) -> None:
    sandbox.add_issue("CX-1", script=SLOW.replace("sleep: 4", "sleep: 30"))
    orchestrator = Orchestrator(sandbox.config)
    orchestrator.tick(wait=False)
    wait_for(lambda: sandbox.issue("CX-1").state == "In Progress")
    sandbox.tracker.transition("CX-1", "Canceled")
    plan = orchestrator.tick(wait=False)
    assert plan.reconcile == [{"issue": "CX-1", "action": "terminate", "state": "Canceled"}]
    orchestrator.reap(wait=True)
    orchestrator.tick()
    assert sandbox.outcome("CX-1") == "terminated"
    assert not (sandbox.repo / ".worktrees" / "CX-1").exists()
    # Whoever sees the cancel first cleans up: the loop's SIGTERM ("terminated"), or the
    # lane's own look before its next side effect ("cancelled") when the cancel lands
    # between the claim and the agent's start. Either way the person's decision stands.
    assert sandbox.lane_file("CX-1", "cleanup.json")["reason"] in ("terminated", "cancelled")
    assert sandbox.issue("CX-1").state == "Canceled"


def test_issue_moved_elsewhere_mid_run_is_interrupted_and_kept(sandbox: Sandbox) -> None:
    sandbox.add_issue("CX-2", script=SLOW.replace("sleep: 4", "sleep: 30"))
    orchestrator = Orchestrator(sandbox.config)
    orchestrator.tick(wait=False)
    wait_for(lambda: (sandbox.repo / ".worktrees" / "CX-2" / "slow.txt").exists())
    sandbox.tracker.transition("CX-2", "Backlog")
    orchestrator.tick(wait=False)
    orchestrator.reap(wait=True)
    orchestrator.tick()
    assert sandbox.outcome("CX-2") == "interrupted"
    assert (sandbox.repo / ".worktrees" / "CX-2" / "slow.txt").exists()


def test_a_broken_workflow_keeps_the_last_good_policy(sandbox: Sandbox) -> None:
    sandbox.add_issue("WF-1")
    orchestrator = Orchestrator(sandbox.config)
    orchestrator.plan()
    (sandbox.repo / "WORKFLOW.md").write_text("+++\n[execution]\nmax_turns = \"x\"\n+++\n")
    plan = orchestrator.tick()
    assert plan.issues() == ["WF-1"]
    assert sandbox.outcome("WF-1") == "waiting"
    warnings = (sandbox.repo / ".maestro" / "warnings.log").read_text()
    assert "keeping the last good workflow" in warnings
    assert "execution.max_turns" in warnings


def test_dry_run_changes_nothing(sandbox: Sandbox) -> None:
    sandbox.add_issue("DR-1")
    before = (sandbox.repo / "issues" / "DR-1.md").read_text()
    proc = sandbox.maestro("run", "--once", "--dry-run", "--json", check=True)
    plan = json.loads(proc.stdout)
    assert plan["dispatch"] == [{"issue": "DR-1", "reason": "new work", "state": "Todo"}]
    assert (sandbox.repo / "issues" / "DR-1.md").read_text() == before
    assert not (sandbox.repo / ".maestro" / "lanes").exists()
    assert not (sandbox.repo / ".worktrees" / "DR-1").exists()


def test_lanes_waiting_for_review_cost_no_lane_process(sandbox: Sandbox) -> None:
    sandbox.add_issue("RV-1")
    orchestrator = Orchestrator(sandbox.config)
    orchestrator.tick()
    plan = orchestrator.tick()
    assert plan.dispatch == []
    assert plan.waiting == [{"issue": "RV-1", "reason": "waiting for review (0/1 approvals)"}]
    sandbox.approve("RV-1")
    assert orchestrator.tick().dispatch[0]["reason"] == "advance review (ready_to_land)"
    assert sandbox.issue("RV-1").state == "Done"


def test_daemon_killed_with_its_lanes_recovers_on_restart(sandbox: Sandbox) -> None:
    for n in range(3):
        # One file per issue: a lane started after another landed would find its change
        # already on main and have nothing to commit.
        sandbox.add_issue(f"KD-{n}", script=SLOW.replace("slow.txt", f"slow-{n}.txt"))
    daemon = subprocess.Popen([sys.executable, "-m", "maestro", "daemon",
                               "--poll-interval-s", "0.3"], cwd=sandbox.repo,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    wait_for(lambda: all(sandbox.issue(f"KD-{n}").state == "In Progress" for n in range(2)))
    os.killpg(daemon.pid, signal.SIGKILL)
    daemon.wait()
    orchestrator = Orchestrator(sandbox.config)
    for _ in range(15):
        orchestrator.tick()
        for n in range(3):
            if sandbox.issue(f"KD-{n}").state == "In Review":
                record = sandbox.lane_file(f"KD-{n}", "review.json") or {}
                if record.get("signals", {}).get("approvals", 0) == 0:
                    sandbox.approve(f"KD-{n}")
        if all(sandbox.issue(f"KD-{n}").state == "Done" for n in range(3)):
            break
    from maestro.lanes.record import comments

    for n in range(3):
        assert sandbox.issue(f"KD-{n}").state == "Done"
        blocks = comments.blocks(sandbox.comments(f"KD-{n}"))
        assert sum(b["kind"] == "completion" for b in blocks) == 1
        assert sum(b["kind"] == "closeout" for b in blocks) == 1
    merges = [s for s in sandbox.origin_log() if s.startswith("Merge pull request")]
    assert len(merges) == 3


def test_daemon_stops_gracefully_on_sigterm(sandbox: Sandbox) -> None:
    sandbox.add_issue("GS-1", script=SLOW.replace("sleep: 4", "sleep: 30"))
    daemon = subprocess.Popen([sys.executable, "-m", "maestro", "daemon",
                               "--poll-interval-s", "0.3"], cwd=sandbox.repo,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: sandbox.issue("GS-1").state == "In Progress")
    daemon.send_signal(signal.SIGTERM)
    _, err = daemon.communicate(timeout=60)
    assert daemon.returncode == 0
    assert "Traceback" not in err
    lane = sandbox.repo / ".maestro" / "lanes" / "GS-1"
    json.loads((lane / "lease.json").read_text())
    assert not Path(lane / "result.json").exists() or json.loads(
        (lane / "result.json").read_text())


def test_a_hung_lane_process_is_killed_and_stopped_for_a_human(sandbox: Sandbox) -> None:
    config_path = sandbox.repo / "maestro.toml"
    config_path.write_text(config_path.read_text().replace(
        "[agent]\n", "[agent]\nlane_stall_timeout_s = 1.0\n"))
    sandbox.add_issue("ST-1")
    lanes = sandbox.repo / ".maestro" / "lanes"
    hung = subprocess.Popen([sys.executable, "-c", (
        "import json, sys, time\n"
        "from pathlib import Path\n"
        "from maestro.lanes.record.state import LaneState\n"
        "state = LaneState(Path(sys.argv[1]), 'ST-1')\n"
        "state.acquire()\n"
        "state.write('lease.json', {'run_id': 'run-x', 'attempt': 1})\n"
        "state.write('activity.json', {'last_event_at': '2020-01-01T00:00:00+00:00'})\n"
        "print('hung', flush=True)\n"
        "time.sleep(120)\n"), str(lanes)], stdout=subprocess.PIPE, text=True)
    assert hung.stdout is not None and hung.stdout.readline().strip() == "hung"
    sandbox.tracker.transition("ST-1", "In Progress")
    plan = Orchestrator(sandbox.config).tick()
    assert {"issue": "ST-1", "action": "stalled", "state": "In Progress"} in plan.reconcile
    assert hung.wait(timeout=30) == -9
    issue = sandbox.issue("ST-1")
    assert "maestro:needs-attention" in issue.labels and issue.state == "Todo"
    assert sandbox.lane_file("ST-1", "attention.json")["error_class"] == "stalled"


def test_a_tracker_rate_limit_is_recorded_with_the_tick(sandbox: Sandbox) -> None:
    from maestro.trackers.http import RateLimitEvent

    class Limited:
        last_rate_limit = RateLimitEvent("candidates", 2.0, "retry-after", utc_now())

        def __init__(self, inner: object) -> None:
            self.inner = inner

        def __getattr__(self, name: str) -> object:
            return getattr(self.inner, name)

    import maestro.orchestration.orchestrator as module

    original = module.make_tracker

    def limited_tracker(config: object, workflow: object) -> object:
        return Limited(original(config, workflow))  # type: ignore[arg-type]

    module.make_tracker = limited_tracker  # type: ignore[assignment]
    try:
        Orchestrator(sandbox.config).tick()
    finally:
        module.make_tracker = original
    status = json.loads(sandbox.maestro("status", "--json", check=True).stdout)
    assert status["last_tick"]["plan"]["rate_limit"]["operation"] == "candidates"
    assert "rate limited during the last tick" in sandbox.maestro("status", check=True).stdout


def test_a_broken_issue_file_is_reported_and_the_others_still_run(sandbox: Sandbox) -> None:
    sandbox.add_issue("BR-1")
    (sandbox.repo / "issues" / "BR-2.md").write_text("---\ntitle: [unclosed\n---\n")
    plan = Orchestrator(sandbox.config).plan(dry_run=True)
    assert plan.issues() == ["BR-1"]
    assert any("BR-2.md" in warning for warning in plan.warnings)


def test_new_work_starts_before_the_prs_in_review_are_refreshed(
        sandbox: Sandbox, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    sandbox.add_issue("EARLY-1")
    orchestrator = Orchestrator(sandbox.config)
    order: list[str] = []
    monkeypatch.setattr(orchestrator, "dispatch", lambda issue: order.append(issue))
    monkeypatch.setattr(orchestrator, "_review_facts",
                        lambda *args: order.append("refresh") or {})
    plan = orchestrator.tick(wait=False)
    assert order[-1] == "refresh" and "EARLY-1" in order
    assert order.count("EARLY-1") == 1  # started once, though the plan lists it
    assert "EARLY-1" in [item["issue"] for item in plan.dispatch]
