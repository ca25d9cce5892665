"""The chaos harness itself: schedules replay, and the invariants catch what they name.

Each check gets a world where exactly its fault was planted, so a check that cannot fail
would fail here.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from maestro.ids import branch_name
from tests.chaos import invariants, schedule
from tests.chaos.invariants import World
from tests.chaos.report import KillRecord, RunReport, describe, suspects
from tests.chaos.scenario import ISSUES, SEED_FILES, expected_tree

pytestmark = pytest.mark.chaos

DONE = next(i for i in ISSUES if not i.attention)
HUMAN = next(i for i in ISSUES if i.attention)
INITIAL = {name: text.encode() for name, text in SEED_FILES.items()}
EXPECTED = expected_tree(INITIAL, ISSUES)
DELIVERED = list(enumerate((i for i in ISSUES if not i.attention), start=1))


def settled_world() -> World:
    """What a perfect end looks like, without running anything."""
    return World(
        issues=ISSUES, repo=Path("/nowhere"),
        states={i.identifier: i.end_state for i in ISSUES},
        blocks={i.identifier: [{"kind": "start", "run_id": f"run-{i.identifier}"}]
                for i in ISSUES},
        lanes={i.identifier: frozenset({"attention.json" if i.attention else "cleanup.json"})
               for i in ISSUES},
        held_leases=frozenset(), retries={},
        worktrees=(invariants.Worktree(f"/r/.worktrees/{HUMAN.identifier}",
                                       branch_name(HUMAN.identifier), ()),),
        worktree_folders=frozenset({HUMAN.identifier}), origin_worktrees=(),
        local_branches=frozenset({branch_name(HUMAN.identifier)}),
        origin_branches=frozenset(),
        pulls={n: (branch_name(i.identifier), "merged") for n, i in DELIVERED},
        main_subjects=(*(f"Merge pull request #{n} from {branch_name(i.identifier)}"
                         for n, i in DELIVERED), "initial commit"),
        main_tree=dict(EXPECTED), expected_tree=EXPECTED,
        deletable=invariants.deletable_files(ISSUES))


def names(world: World) -> set[str]:
    return {v.invariant for v in invariants.check(world)}


def test_a_settled_world_keeps_every_invariant() -> None:
    assert invariants.check(settled_world()) == []


def test_the_expected_tree_has_each_issues_files_and_not_the_deleted_one() -> None:
    assert "docs/greeting.md" in EXPECTED
    assert "OBSOLETE.md" not in EXPECTED
    assert EXPECTED["README.md"].endswith(b"Run `python -m unittest`.\n")
    assert EXPECTED["CHANGELOG.md"].endswith(b"- bye() says goodbye\n")


@pytest.mark.parametrize(("change", "invariant"), [
    ({"states": {**settled_world().states, DONE.identifier: ("In Review", ())}}, "end_state"),
    ({"lanes": {**settled_world().lanes, DONE.identifier: frozenset({"pr.json"})}},
     "end_state"),
    ({"main_subjects": ("Merge pull request #9 from " + branch_name(DONE.identifier),
                        *settled_world().main_subjects)}, "one_merge"),
    ({"blocks": {DONE.identifier: [{"kind": "start", "run_id": "r"}] * 2}},
     "unique_comment"),
    ({"worktree_folders": frozenset({HUMAN.identifier, DONE.identifier})},
     "no_orphan_worktree"),
    ({"worktrees": (invariants.Worktree("/r/.worktrees/" + DONE.identifier, "", ("prunable",)),
                    )}, "no_orphan_worktree"),
    ({"origin_worktrees": ("/tmp/maestro-checks-x/tree",)}, "no_orphan_worktree"),
    ({"origin_branches": frozenset({branch_name(DONE.identifier)})}, "no_orphan_branch"),
    ({"held_leases": frozenset({DONE.identifier})}, "no_held_lease"),
    ({"retries": {DONE.identifier: {"attempt": 1}}}, "no_retry_entry"),
    ({"pulls": {99: ("maestro/x", "open")}}, "no_open_pr"),
    ({"main_tree": {k: v for k, v in EXPECTED.items() if k != "README.md"}}, "no_lost_file"),
    ({"main_tree": {**EXPECTED, "OBSOLETE.md": b"back"}}, "main_as_intended"),
    ({"main_tree": {**EXPECTED, "hello.py": b""}}, "main_as_intended"),
])
def test_each_invariant_catches_its_fault(change: dict[str, object], invariant: str) -> None:
    assert names(dataclasses.replace(settled_world(), **change)) == {invariant}  # type: ignore[arg-type]


def test_a_file_leaving_main_is_lost_unless_an_issue_deletes_it() -> None:
    before = dataclasses.replace(settled_world(), main_tree={**EXPECTED, "OBSOLETE.md": b"x"})
    after = dataclasses.replace(settled_world(), main_tree={
        k: v for k, v in EXPECTED.items() if k != "README.md"})
    assert {v.subject for v in invariants.lost_since(before, after)} == {"README.md"}


def test_a_seed_always_draws_the_same_schedule() -> None:
    assert schedule.draw(7, 5, 0.3, 4.0) == schedule.draw(7, 5, 0.3, 4.0)
    assert schedule.draw(7, 5, 0.3, 4.0) != schedule.draw(8, 5, 0.3, 4.0)


def test_a_rendered_schedule_parses_back_to_itself() -> None:
    kills = schedule.draw(3, 6, 0.3, 4.0)
    assert schedule.parse(schedule.render(kills)) == kills


@pytest.mark.parametrize("text", ["grop@1", "group@x", "group@-1", "group"])
def test_a_bad_schedule_item_is_refused_by_name(text: str) -> None:
    with pytest.raises(ValueError, match="--schedule"):
        schedule.parse(text)


def stranded_report() -> RunReport:
    kills = [KillRecord(1, "group@1.000", 3.0, 1.0, 0.5, 1.0, "", {"CHAOS-5": "agent"}, []),
             KillRecord(2, "group@0.200", 6.0, 1.0, 0.5, 0.2, "", {"CHAOS-5": "prepare"},
                        ["worktree CHAOS-5 locked: 'initializing'"]),
             KillRecord(3, "daemon@2.000", 9.0, 1.0, 0.5, 2.0, "", {"CHAOS-5": "validate"},
                        ["worktree CHAOS-5 locked: 'initializing'"]),
             KillRecord(4, "group@3.000", 12.0, 1.0, 0.5, 3.0, "", {}, [])]
    violation = "end_state: CHAOS-5: is ('Todo', ()), expected ('Done', ())"
    return RunReport(9, ",".join(k.kill for k in kills), kills, [violation], {violation: 0})


def test_a_stranded_lane_is_blamed_on_the_kill_that_left_it_behind() -> None:
    assert suspects(stranded_report()) == {2: "left CHAOS-5 behind"}


def test_a_failed_run_prints_the_replay_up_to_the_suspect_kill() -> None:
    text = "\n".join(describe(stranded_report()))
    assert "--seed 9 --kills 4" in text
    assert "--schedule group@1.000,group@0.200   # up to kill 2" in text


def test_a_leaked_check_worktree_is_blamed_on_the_kill_that_left_it() -> None:
    path = "/tmp/maestro-checks-abc/tree"
    kills = [KillRecord(1, "daemon@1.000", 3.0, 1.0, 0.5, 1.0, "", {}, []),
             KillRecord(2, "daemon@2.000", 6.0, 1.0, 0.5, 2.0, "", {},
                        [f"origin check worktree {path}"])]
    violation = f"no_orphan_worktree: origin: check worktree {path} left behind"
    report = RunReport(3, ",".join(k.kill for k in kills), kills, [violation], {violation: 0})
    assert suspects(report) == {2: f"left {path} behind"}
