"""The operator's actions (maestro/operator/actions.py) on real lanes of a sandbox."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from maestro.errors import InputError
from maestro.fsutil import read_jsonl
from maestro.operator import actions
from maestro.orchestration.retries import RetryQueue
from tests.conftest import Sandbox, remove_live_folder

ATTENTION = "maestro:needs-attention"
ASKS_FOR_HUMAN = """
steps:
  - attention: "a maintainer must decide"
"""
COMMITS_THEN_WAITS = """
steps:
  - write: {path: a.txt, content: "a\\n"}
  - commit: "a"
  - sleep: 30
  - handoff: "done"
"""


def journal_events(sandbox: Sandbox, identifier: str) -> list[str]:
    path = sandbox.repo / ".maestro" / "lanes" / identifier / "journal.jsonl"
    return [str(entry.get("event")) for entry in read_jsonl(path)]


def service_log(sandbox: Sandbox) -> list[dict[str, object]]:
    return read_jsonl(sandbox.repo / ".maestro" / "logs" / "maestro.jsonl")

STAMPS = """
steps:
  - run: "date +%s%N > stamp.txt"
  - commit: "stamp"
  - handoff: "stamped"
"""


@pytest.fixture
def needs_human(sandbox: Sandbox) -> Sandbox:
    sandbox.add_issue("OPS-1", ASKS_FOR_HUMAN)
    sandbox.lane("OPS-1")
    assert sandbox.outcome("OPS-1") == "needs_human"
    return sandbox


def test_retry_removes_the_attention_label_as_a_person_would(needs_human: Sandbox) -> None:
    message = actions.retry(needs_human.config, "OPS-1")
    assert "released for a retry" in message
    assert ATTENTION not in needs_human.issue("OPS-1").labels


def test_retry_is_journaled_in_the_lane_and_the_service_log(needs_human: Sandbox) -> None:
    actions.retry(needs_human.config, "OPS-1")
    assert "operator_retry" in journal_events(needs_human, "OPS-1")
    assert any(r["event"] == "operator_retry" and r["issue"] == "OPS-1"
               for r in service_log(needs_human))


def test_retry_twice_changes_nothing_the_second_time(needs_human: Sandbox) -> None:
    actions.retry(needs_human.config, "OPS-1")
    before = needs_human.issue("OPS-1")
    second = actions.retry(needs_human.config, "OPS-1")
    assert "no change" in second
    assert needs_human.issue("OPS-1") == before


def test_a_released_lane_starts_afresh_at_the_next_run(needs_human: Sandbox) -> None:
    actions.retry(needs_human.config, "OPS-1")
    needs_human.lane("OPS-1")
    assert (needs_human.repo / ".maestro" / "archive").is_dir()
    assert "lane_reset" in journal_events(needs_human, "OPS-1")


def test_retry_never_reopens_an_issue_a_person_closed(needs_human: Sandbox) -> None:
    needs_human.maestro("issue", "move", "OPS-1", "Canceled", check=True)
    with pytest.raises(InputError, match="Canceled, a person's decision"):
        actions.retry(needs_human.config, "OPS-1")
    assert needs_human.issue("OPS-1").state == "Canceled"


def test_retry_makes_a_queued_retry_due_now(sandbox: Sandbox) -> None:
    sandbox.add_issue("OPS-2", "steps:\n  - fail_turn: boom\n")
    sandbox.lane("OPS-2")
    assert sandbox.outcome("OPS-2") == "retry"
    queue = RetryQueue(sandbox.config.state_root)
    queue.schedule("OPS-2", 1, "failure", "turn_failed", 300_000)
    before = queue.load()["OPS-2"]
    actions.retry(sandbox.config, "OPS-2")
    after = queue.load()["OPS-2"]
    assert after.due_at < before.due_at and after.attempt == before.attempt


def test_a_retry_while_paused_says_resume_starts_it(needs_human: Sandbox) -> None:
    actions.pause(needs_human.config)
    message = actions.retry(needs_human.config, "OPS-1")
    assert "first tick after `maestro resume`" in message
    assert "the next tick" not in message


def test_an_unknown_issue_is_bad_input_and_writes_nothing(sandbox: Sandbox) -> None:
    for action in (actions.retry, actions.cancel):
        with pytest.raises(InputError, match="NOPE-9: unknown issue"):
            action(sandbox.config, "NOPE-9")
    assert not (sandbox.repo / ".maestro" / "lanes" / "NOPE-9").exists()


def test_cancel_moves_the_issue_and_removes_a_pushed_worktree(needs_human: Sandbox) -> None:
    message = actions.cancel(needs_human.config, "OPS-1")
    assert "moved to Canceled" in message and "removed the worktree" in message
    assert needs_human.issue("OPS-1").state == "Canceled"
    assert not (needs_human.repo / ".worktrees" / "OPS-1").exists()
    assert needs_human.lane_file("OPS-1", "cleanup.json")["reason"] == "cancelled"


def test_retry_after_cancelling_a_lane_that_waited_on_a_person_takes_maestros_label_off(
        needs_human: Sandbox) -> None:
    """Breaker 28 F5: the lane was archived, but its needs-attention label stayed, so the
    new lane did not start until a person took it off too."""
    actions.cancel(needs_human.config, "OPS-1")
    needs_human.tracker.transition("OPS-1", "Todo")
    message = actions.retry(needs_human.config, "OPS-1")
    assert f"removed '{ATTENTION}'" in message and "the next tick starts a new lane" in message
    assert ATTENTION not in needs_human.issue("OPS-1").labels


def test_retry_takes_off_the_label_of_an_attention_path_a_kill_cut_short(
        needs_human: Sandbox) -> None:
    """Breaker 31 F4: a kill right after the label went on leaves only
    ``attention-pending.json``; the retry kept maestro's own label."""
    lane = needs_human.repo / ".maestro" / "lanes" / "OPS-1"
    (lane / "attention.json").rename(lane / "attention-pending.json")
    actions.cancel(needs_human.config, "OPS-1")
    needs_human.tracker.transition("OPS-1", "Todo")
    message = actions.retry(needs_human.config, "OPS-1")
    assert f"removed '{ATTENTION}'" in message
    assert ATTENTION not in needs_human.issue("OPS-1").labels


def test_retry_keeps_a_label_a_person_created_after_a_guarded_stop(
        needs_human: Sandbox) -> None:
    """A guarded stop found no label to put (``guarded`` in its record); the label a person
    created afterwards is theirs, and a retry leaves it (breaker 29)."""
    record_path = needs_human.repo / ".maestro" / "lanes" / "OPS-1" / "attention.json"
    record = json.loads(record_path.read_text())
    record_path.write_text(json.dumps({**record, "guarded": True}))
    actions.cancel(needs_human.config, "OPS-1")
    needs_human.tracker.transition("OPS-1", "Todo")
    message = actions.retry(needs_human.config, "OPS-1")
    assert "removed" not in message and "does not start yet" in message
    assert ATTENTION in needs_human.issue("OPS-1").labels


def test_retry_of_a_finished_lane_keeps_a_label_a_person_put(sandbox: Sandbox) -> None:
    sandbox.add_issue("OPS-30")
    sandbox.lane("OPS-30")
    actions.cancel(sandbox.config, "OPS-30")
    sandbox.tracker.transition("OPS-30", "Todo")
    sandbox.tracker.add_label("OPS-30", ATTENTION)
    message = actions.retry(sandbox.config, "OPS-30")
    assert "does not start yet" in message
    assert ATTENTION in sandbox.issue("OPS-30").labels


def test_cancel_twice_does_nothing_the_second_time(needs_human: Sandbox) -> None:
    actions.cancel(needs_human.config, "OPS-1")
    assert "nothing to do" in actions.cancel(needs_human.config, "OPS-1")
    assert cancels_recorded(needs_human, "OPS-1") == [False, True]  # the second: on record


def cancels_recorded(sandbox: Sandbox, identifier: str) -> list[bool]:
    """For each ``operator_cancel`` in the lane's journal: whether it found nothing to do."""
    path = sandbox.repo / ".maestro" / "lanes" / identifier / "journal.jsonl"
    return ["nothing to do" in str(entry.get("message")) for entry in read_jsonl(path)
            if entry.get("event") == "operator_cancel"]


def test_cancel_keeps_a_worktree_with_unpushed_work(needs_human: Sandbox) -> None:
    worktree = needs_human.repo / ".worktrees" / "OPS-1"
    (worktree / "draft.txt").write_text("not committed\n")
    message = actions.cancel(needs_human.config, "OPS-1")
    assert "kept the worktree .worktrees/OPS-1 (1 uncommitted file)" in message
    assert (worktree / "draft.txt").exists()


def test_cancel_keeps_a_worktree_whose_sandboxed_commits_are_not_imported_yet(
        needs_human: Sandbox) -> None:
    # A sandboxed session killed before maestro hashed its objects into the shared store:
    # only its private store holds them (maestro/containment/private_objects.py). The
    # cancel takes them in first, then sees the commit the branch names.
    worktree = needs_human.repo / ".worktrees" / "OPS-1"
    store = needs_human.repo / ".git" / "worktrees" / "OPS-1" / "maestro-objects"
    store.mkdir(exist_ok=True)
    (worktree / "late.txt").write_text("late\n")
    env = {**os.environ, "GIT_OBJECT_DIRECTORY": str(store),
           "GIT_ALTERNATE_OBJECT_DIRECTORIES": str(needs_human.repo / ".git" / "objects")}
    for args in (["add", "late.txt"], ["commit", "-q", "-m", "late"]):
        subprocess.run(["git", *args], cwd=worktree, env=env, check=True)
    message = actions.cancel(needs_human.config, "OPS-1")
    assert "kept the worktree .worktrees/OPS-1 (1 commit not on origin)" in message
    assert worktree.is_dir()


def test_cancel_twice_with_a_kept_worktree_does_nothing_the_second_time(
        needs_human: Sandbox) -> None:
    (needs_human.repo / ".worktrees" / "OPS-1" / "draft.txt").write_text("not committed\n")
    actions.cancel(needs_human.config, "OPS-1")
    assert "nothing to do" in actions.cancel(needs_human.config, "OPS-1")
    assert cancels_recorded(needs_human, "OPS-1") == [False, True]


def test_the_next_daemon_start_keeps_the_worktree_a_cancel_kept(needs_human: Sandbox) -> None:
    from maestro.orchestration.orchestrator import Orchestrator

    draft = needs_human.repo / ".worktrees" / "OPS-1" / "draft.txt"
    draft.write_text("not committed\n")
    actions.cancel(needs_human.config, "OPS-1")
    Orchestrator(needs_human.config).daemon(0.01, max_ticks=1)
    assert draft.exists()


def test_the_loop_never_signals_a_cancel_command_holding_the_lane(
        needs_human: Sandbox) -> None:
    from maestro.lanes.record.state import LaneState
    from maestro.orchestration.orchestrator import Orchestrator

    needs_human.maestro("issue", "move", "OPS-1", "Canceled", check=True)
    holder = subprocess.Popen(  # a person's command holding the lane, as cancel does
        [sys.executable, "-c", "import sys, time, pathlib; from maestro.lanes.record.state import "
         "LaneState; s = LaneState(pathlib.Path(sys.argv[1]), 'OPS-1'); "
         "s.acquire(role='operator'); print(1, "
         "flush=True); time.sleep(30)", str(needs_human.config.lanes_root)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "1"
        assert LaneState(needs_human.config.lanes_root, "OPS-1").is_leased_elsewhere()
        Orchestrator(needs_human.config).tick()
        assert holder.poll() is None  # still running: not SIGTERMed
    finally:
        holder.kill()
        holder.wait()


def test_the_loop_never_kills_a_cancel_command_holding_a_lane_that_looks_stalled(
        needs_human: Sandbox) -> None:
    from maestro.orchestration.orchestrator import Orchestrator
    from maestro.orchestration.planning import Plan, Reconcile

    holder = subprocess.Popen(  # a person's cancel of a hung lane, holding it
        [sys.executable, "-c", "import sys, time, pathlib; from maestro.lanes.record.state import "
         "LaneState; s = LaneState(pathlib.Path(sys.argv[1]), 'OPS-1'); "
         "s.acquire(role='operator'); print(1, flush=True); time.sleep(30)",
         str(needs_human.config.lanes_root)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "1"
        stalled = Plan(reconciles=(Reconcile("OPS-1", "stalled", "In Progress"),))
        Orchestrator(needs_human.config).apply_reconcile(stalled)
        assert holder.poll() is None  # not SIGKILLed
    finally:
        holder.kill()
        holder.wait()


def test_a_cancel_waits_for_another_cancel_holding_the_lane_and_never_signals_it(
        needs_human: Sandbox) -> None:
    holder = subprocess.Popen(  # the poll loop or a second command finishing the cancel
        [sys.executable, "-c", "import sys, time, pathlib; from maestro.lanes.record.state import "
         "LaneState; s = LaneState(pathlib.Path(sys.argv[1]), 'OPS-1'); "
         "s.acquire(role='operator'); print(1, flush=True)\n"
         "while not s.exists('cancel.json'): time.sleep(0.01)\n"
         "time.sleep(1); s.release()", str(needs_human.config.lanes_root)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "1"
        message = actions.cancel(needs_human.config, "OPS-1")
        assert holder.wait(timeout=30) == 0  # it let go by itself: no SIGTERM
    finally:
        holder.kill()
        holder.wait()
    assert "stopped the lane process" not in message
    assert needs_human.issue("OPS-1").state == "Canceled"

def test_the_loop_finishing_a_recorded_cancel_holds_the_lane_as_an_operator(
        needs_human: Sandbox) -> None:
    """So a person's ``maestro cancel`` (or the dashboard's, in the daemon's own process)
    meeting it waits instead of sending SIGTERM to the daemon."""
    from maestro.lanes.cancel import record_intent
    from maestro.lanes.record.state import LaneState
    from maestro.orchestration.orchestrator import Orchestrator

    state = LaneState(needs_human.config.lanes_root, "OPS-1")
    record_intent(state, "maestro cancel")
    Orchestrator(needs_human.config).tick()
    assert needs_human.issue("OPS-1").state == "Canceled"
    assert (state.read("holder.json") or {}).get("role") == "operator"

def test_cancel_stops_the_running_lane_process(sandbox: Sandbox) -> None:
    sandbox.add_issue("OPS-3", COMMITS_THEN_WAITS)
    lane = subprocess.Popen([sys.executable, "-m", "maestro", "lane", "OPS-3", "--quiet"],
                            cwd=sandbox.repo, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        tools = sandbox.repo / ".maestro" / "lanes" / "OPS-3" / "tools.jsonl"
        for _ in range(300):  # the agent's session is under way once it used a tool
            if tools.exists() or lane.poll() is not None:
                break
            time.sleep(0.1)
        message = actions.cancel(sandbox.config, "OPS-3")
        assert lane.wait(timeout=30) is not None
    finally:
        lane.kill()
    assert "stopped the lane process" in message
    assert sandbox.issue("OPS-3").state == "Canceled"
    assert "1 commit not on origin" in message  # the agent's commit was never pushed


def test_pause_holds_dispatch_until_resume(sandbox: Sandbox) -> None:
    sandbox.add_issue("OPS-4")
    assert "dispatch paused" in actions.pause(sandbox.config)
    plan = json.loads(sandbox.maestro("run", "--dry-run", "--json", check=True).stdout)
    assert plan["dispatch"] == [] and plan["waiting"][0]["issue"] == "OPS-4"
    assert "resumed" in actions.resume(sandbox.config)
    plan = json.loads(sandbox.maestro("run", "--dry-run", "--json", check=True).stdout)
    assert [item["issue"] for item in plan["dispatch"]] == ["OPS-4"]


def test_pause_and_resume_are_idempotent(sandbox: Sandbox) -> None:
    actions.pause(sandbox.config)
    assert "already paused" in actions.pause(sandbox.config)
    actions.resume(sandbox.config)
    assert "not paused" in actions.resume(sandbox.config)


def test_status_says_paused(sandbox: Sandbox) -> None:
    sandbox.maestro("pause", check=True)
    assert json.loads(sandbox.maestro("status", "--json", check=True).stdout)["paused"]
    assert "paused: no new lane starts" in sandbox.maestro("status", check=True).stdout


def test_cancel_of_an_issue_without_a_lane_only_moves_it(sandbox: Sandbox) -> None:
    sandbox.add_issue("OPS-5")
    assert actions.cancel(sandbox.config, "OPS-5") == "OPS-5: moved to Canceled"
    assert sandbox.issue("OPS-5").state == "Canceled"
    assert not (sandbox.repo / ".maestro" / "lanes" / "OPS-5").exists()


def test_a_cancel_run_again_after_it_was_killed_before_any_lane_only_moves_the_issue(
        sandbox: Sandbox) -> None:
    """The folder holding only the first run's intent is no lane: the second run finishes
    as the first would have (and as the poll loop does), leaving no lane record behind."""
    from maestro.lanes.cancel import record_intent
    from maestro.lanes.record.state import LaneState

    sandbox.add_issue("OPS-6")
    record_intent(LaneState(sandbox.config.lanes_root, "OPS-6"), "maestro cancel")
    assert actions.cancel(sandbox.config, "OPS-6") == "OPS-6: moved to Canceled"
    assert not (sandbox.repo / ".maestro" / "lanes" / "OPS-6").exists()


REVIEW = """
    steps:
      - write: {path: a.txt, content: a}
      - commit: a
      - handoff: done
    """


def lane_pr_state(sandbox: Sandbox, identifier: str) -> str:
    from maestro.forges.local import LocalForge

    found = LocalForge(sandbox.repo, "origin").find_pr(f"maestro/{identifier.lower()}")
    return found.state.value if found is not None else "none"


def test_cancel_of_a_lane_whose_folder_is_gone_closes_its_pr(sandbox: Sandbox) -> None:
    """The lane is in review, its folder deleted (or never on this machine): the cancel
    still finds the lane by its branch's PR, closes it and removes the worktree."""
    sandbox.add_issue("OPS-11", script=REVIEW)
    sandbox.lane("OPS-11")
    shutil.rmtree(sandbox.repo / ".maestro" / "lanes" / "OPS-11")
    message = actions.cancel(sandbox.config, "OPS-11")
    assert "moved to Canceled" in message and "closed PR #1" in message, message
    assert sandbox.issue("OPS-11").state == "Canceled"
    assert lane_pr_state(sandbox, "OPS-11") == "closed"
    assert not (sandbox.repo / ".worktrees" / "OPS-11").exists()


def test_cancel_of_an_issue_a_person_closed_closes_its_lost_lanes_pr(
        sandbox: Sandbox) -> None:
    sandbox.add_issue("OPS-12", script=REVIEW)
    sandbox.lane("OPS-12")
    shutil.rmtree(sandbox.repo / ".maestro" / "lanes" / "OPS-12")
    sandbox.tracker.transition("OPS-12", "Canceled")  # a person, in the tracker
    message = actions.cancel(sandbox.config, "OPS-12")
    assert "closed PR #1" in message, message
    assert lane_pr_state(sandbox, "OPS-12") == "closed"


def test_cancel_of_a_lost_lane_whose_pr_merged_leaves_no_lane_record(
        sandbox: Sandbox) -> None:
    sandbox.add_issue("OPS-13", script=REVIEW)
    sandbox.lane("OPS-13")
    sandbox.approve("OPS-13")
    sandbox.lane("OPS-13")
    assert sandbox.outcome("OPS-13") == "finished"
    shutil.rmtree(sandbox.repo / ".maestro" / "lanes" / "OPS-13")
    message = actions.cancel(sandbox.config, "OPS-13")
    assert "merged; nothing to cancel" in message, message
    assert sandbox.issue("OPS-13").state == "Done"
    assert not (sandbox.repo / ".maestro" / "lanes" / "OPS-13").exists()


def test_a_lane_process_whose_folder_was_deleted_never_writes_over_the_cancel_after(
        sandbox: Sandbox, tmp_path: Path) -> None:
    """Breaker 14: the folder of a running lane deleted, then the issue cancelled. The
    cancel makes a new folder; the old process, when its session ends, must not write
    its outcome into it."""
    flag = tmp_path / "working"
    sandbox.add_issue("OPS-14", script=f"""
        steps:
          - write: {{path: a.txt, content: a}}
          - commit: a
          - open_pr: {{title: a}}
          - run: touch {flag} && sleep 3
          - handoff: done
        """)
    lane = subprocess.Popen([sys.executable, "-m", "maestro", "lane", "OPS-14", "--quiet"],
                            cwd=sandbox.repo, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    for _ in range(600):
        if flag.exists() or lane.poll() is not None:
            break
        time.sleep(0.05)
    remove_live_folder(sandbox.repo / ".maestro" / "lanes" / "OPS-14")
    assert "closed PR #1" in actions.cancel(sandbox.config, "OPS-14")
    _, stderr = lane.communicate(timeout=120)
    assert lane.returncode != 0 and "was deleted or replaced" in stderr, stderr
    assert sandbox.outcome("OPS-14") == "terminated"
    assert sandbox.lane_file("OPS-14", "cleanup.json")["reason"] == "cancelled"
    assert sandbox.issue("OPS-14").state == "Canceled"


def test_cancel_keeps_a_lane_branch_with_unpushed_commits_when_its_worktree_is_gone(
        sandbox: Sandbox) -> None:
    """Breaker 14: with the worktree folder deleted, the lane branch is the only name of
    the commits never pushed; the cancel keeps it, as it keeps a worktree."""
    sandbox.add_issue("OPS-15", script="""
        steps:
          - write: {path: a.txt, content: a}
          - commit: a
          - open_pr: {title: a}
          - write: {path: b.txt, content: b}
          - commit: b
          - attention: stuck
        """)
    sandbox.lane("OPS-15")
    assert sandbox.outcome("OPS-15") == "needs_human"
    head = subprocess.run(["git", "rev-parse", "maestro/ops-15"], cwd=sandbox.repo,
                          capture_output=True, text=True, check=True).stdout.strip()
    shutil.rmtree(sandbox.repo / ".worktrees" / "OPS-15")
    message = actions.cancel(sandbox.config, "OPS-15")
    assert "kept the branch maestro/ops-15 (1 commit not on origin)" in message, message
    assert subprocess.run(["git", "rev-parse", "maestro/ops-15"], cwd=sandbox.repo,
                          capture_output=True, text=True).stdout.strip() == head
    again = actions.cancel(sandbox.config, "OPS-15")
    assert "the branch maestro/ops-15 is kept" in again, again


def test_retry_of_a_finished_lane_whose_issue_was_reopened_starts_a_new_lane(
        sandbox: Sandbox) -> None:
    sandbox.add_issue("OPS-9", STAMPS)  # a new change in every lane
    sandbox.lane("OPS-9")
    sandbox.approve("OPS-9")
    sandbox.lane("OPS-9")
    assert sandbox.outcome("OPS-9") == "finished"
    with pytest.raises(InputError, match="move it back to Todo to work it again"):
        actions.retry(sandbox.config, "OPS-9")  # still Done
    sandbox.maestro("issue", "move", "OPS-9", "Todo", check=True)  # a person reopens it

    message = actions.retry(sandbox.config, "OPS-9")
    assert "its finished lane is archived" in message
    sandbox.lane("OPS-9")
    assert sandbox.outcome("OPS-9") == "waiting"  # a new lane, in review again
    assert any(path.name.startswith("OPS-9-")
               for path in (sandbox.repo / ".maestro" / "archive").iterdir())
