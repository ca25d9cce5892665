"""``maestro issue list`` without ``--state`` on a service tracker (finding 8c): it lists the
workflow's non-terminal states and says so, instead of printing nothing."""

from __future__ import annotations

from fakes.linear_server import API_KEY, LinearWorld
from fakes.loopback import LoopbackServer

from maestro.config.workflow import TrackerPolicy
from maestro.trackers.listing import default_list_states
from tests.conftest import Sandbox

KEY_VAR = "MAESTRO_TEST_LINEAR_KEY"
FILES_TRACKER = 'provider = "files"\npath = "issues"\nissue_prefix = "DEMO"'


def test_the_default_listing_is_every_named_state_but_the_terminal_ones() -> None:
    policy = TrackerPolicy(startable_states=["Todo"], terminal_states=["Done", "Canceled"],
                           closed_states={"COMPLETED": "Done", "NOT_PLANNED": "Canceled"})
    states = default_list_states(policy)
    assert "Todo" in states and "In Progress" in states and "In Review" in states
    assert "Done" not in states and "Canceled" not in states


def test_issue_list_on_linear_without_a_state_lists_open_work(
        sandbox: Sandbox, linear_world: LinearWorld, linear_server_: LoopbackServer) -> None:
    linear_world.add_issue("to do", "Todo")
    linear_world.add_issue("started", "In Progress")
    linear_world.add_issue("finished", "Done")
    sandbox.edit_workflow(FILES_TRACKER, 'provider = "linear"\nproject_slug = "maestro-0a1b2c"')
    config = sandbox.repo / "maestro.toml"
    config.write_text(config.read_text() + f'\n[tracker]\nendpoint = "{linear_server_.url}"\n'
                      f'api_key_env_var = "{KEY_VAR}"\n')
    proc = sandbox.maestro("issue", "list", check=True, env={KEY_VAR: API_KEY})
    assert "to do" in proc.stdout and "started" in proc.stdout
    assert "finished" not in proc.stdout
    assert "non-terminal states" in proc.stderr
