"""Each lane's own agent state (``maestro.containment.agent_homes``): where the agent
programs share a folder across every running session, a sandboxed lane gets its own."""

from __future__ import annotations

from pathlib import Path

from maestro.containment.agent_homes import (
    forget_lane_state,
    lane_state_binds,
    lane_state_folder,
)


def test_two_services_working_the_same_issue_number_get_two_state_folders(
        tmp_path: Path) -> None:
    one = lane_state_folder(tmp_path / "svc-a" / ".maestro" / "lanes" / "ABC-1", "ABC-1")
    two = lane_state_folder(tmp_path / "svc-b" / ".maestro" / "lanes" / "ABC-1", "ABC-1")
    assert one != two and one.name.startswith("ABC-1-") and two.name.startswith("ABC-1-")


def test_a_resumed_lane_finds_its_own_state_folder_again(tmp_path: Path) -> None:
    lane = tmp_path / ".maestro" / "lanes" / "ABC-1"
    assert lane_state_folder(lane, "ABC-1") == lane_state_folder(lane, "ABC-1")


def test_both_agents_shell_snapshots_are_bound_from_the_lanes_own_folder(
        tmp_path: Path) -> None:
    home, state = tmp_path / "home", tmp_path / "state"
    binds = dict((target, source) for source, target in
                 lane_state_binds({"HOME": str(home)}, state))
    assert binds == {home / ".claude" / "shell-snapshots": state / "claude" / "shell-snapshots",
                     home / ".codex" / "shell_snapshots": state / "codex" / "shell_snapshots"}
    assert all(source.is_dir() and target.is_dir() for target, source in binds.items())


def test_codex_home_named_by_its_variable_is_where_its_snapshots_are_bound(
        tmp_path: Path) -> None:
    codex_home = tmp_path / "codex-home"
    binds = lane_state_binds({"HOME": str(tmp_path / "home"), "CODEX_HOME": str(codex_home)},
                             tmp_path / "state")
    assert (tmp_path / "state" / "codex" / "shell_snapshots",
            codex_home / "shell_snapshots") in binds


def test_a_cleaned_up_lanes_agent_state_is_removed(tmp_path: Path) -> None:
    lane = tmp_path / ".maestro" / "lanes" / "ABC-9"
    state = lane_state_folder(lane, "ABC-9")
    lane_state_binds({"HOME": str(tmp_path / "home")}, state)
    assert state.is_dir()
    forget_lane_state(lane, "ABC-9")
    assert not state.exists()
