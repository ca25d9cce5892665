"""Every file of the bad-configuration corpus gets one clear message and nothing else.

``corpus/maestro-toml/`` and ``corpus/workflow/`` hold one hostile file per case; each case
below names the message fragment a person must see (the key path, or what was expected).
The same files also go through the command line, in process, to prove the message arrives
without a traceback, with exit code 2, and without a file written anywhere.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from maestro import cli
from maestro.config.service import parse_config_file
from maestro.config.workflow import MAX_WORKFLOW_BYTES, load_workflow
from maestro.errors import ConfigError

CORPUS = Path(__file__).with_name("corpus")

CONFIG_CASES = {
    "array-of-tables.toml": "agent: Input should be a valid dictionary",
    "binary-junk.toml": "expected UTF-8 TOML text, found binary data",
    "duplicate-key.toml": "invalid TOML",
    "empty-agent-command.toml": "agent.command: Value error, must not be empty",
    "id-looks-like-an-option.toml": "id: String should match pattern",
    "listen-address-shell.toml": "operator_http.listen_address",
    "listen-address-without-port.toml": "operator_http.listen_address",
    "negative-timeout.toml": "agent.idle_timeout_s: Input should be greater than 0",
    "secret-in-command.toml": "agent.command: looks like a secret",
    "secret-token.toml": "github.token_env_var: looks like a secret",
    "unbalanced-quote-command.toml": "agent.command: Value error, not a valid command line",
    "unicode-id.toml": "id: String should match pattern",
    "unknown-nested-key.toml": "tracker.api_kee_env_var: unknown key",
    "unknown-top-level-key.toml": "colour: unknown key",
    "unknown-transport.toml": "agent.transport: Input should be 'app-server'",
    "string-for-boolean.toml": "dispatch.warm_workers: Input should be a valid boolean",
    "unterminated-string.toml": "invalid TOML",
    "wrong-type-number.toml": "agent.idle_timeout_s: Input should be a valid number",
    "wrong-type-section.toml": "agent: Input should be a valid dictionary",
}

WORKFLOW_CASES = {
    "absolute-read-first.md": "context.read_first[0]: expected a path relative",
    "absolute-tracker-path.md": "tracker.path: expected a path relative",
    "escaping-read-first.md": "context.read_first[0]: expected a path inside the repository",
    "home-tracker-path.md": "tracker.path: expected a path relative",
    "nul-byte.md": "found NUL bytes",
    "overlapping-states.md": "startable_states and terminal_states overlap",
    "number-for-boolean.md": "forge.delete_branch_on_merge: Input should be a valid boolean",
    "secret-in-command-yaml.md": "execution.validation_commands[0]: looks like a secret",
    "secret-toml.md": "tracker.project_slug: looks like a secret",
    "shell-in-branch-prefix.md": "forge.branch_prefix: String should match pattern",
    "toml-syntax-error.md": "front matter: invalid TOML",
    "traversal-issue-prefix.md": "tracker.issue_prefix: String should match pattern",
    "unicode-unknown-section.md": "front matter: invalid TOML",
    "unknown-key-toml.md": "execution.max_turn: unknown key",
    "unknown-key-yaml.md": "tracker.startable: unknown key",
    "unterminated-toml.md": "is never closed",
    "unterminated-yaml.md": "is never closed",
    "wrong-type-toml.md": "execution.max_turns: Input should be a valid integer",
    "wrong-type-yaml.md": "execution.max_attempts: Input should be a valid integer",
    "wrong-version.md": "version: Input should be 1",
    "yaml-billion-laughs.md": "tracker.startable_states.0: Input should be a valid string",
    "yaml-list-not-mapping.md": "expected a mapping of keys, got list",
    "yaml-python-tag.md": "front matter: invalid YAML",
    "yaml-syntax-error.md": "front matter: invalid YAML",
    "zero-agents.md": "execution.max_concurrent_agents: Input should be greater than or equal",
    "template-misspelled-variable-yaml.md":
        "line 8: template: unknown template variable {{ issue.identifer }}",
    "template-unknown-filter-toml.md": "line 5: template: unknown template filter 'upcse'",
    "hooks-negative-timeout.md": "hooks.timeout_ms: Input should be greater than 0",
}


def test_every_corpus_file_has_a_stated_expectation() -> None:
    assert sorted(p.name for p in (CORPUS / "maestro-toml").iterdir()) == sorted(
        [*CONFIG_CASES, "byte-order-mark.toml"])
    assert sorted(p.name for p in (CORPUS / "workflow").iterdir()) == sorted(WORKFLOW_CASES)


@pytest.mark.parametrize("name", sorted(CONFIG_CASES))
def test_bad_maestro_toml_gets_one_clear_message(name: str) -> None:
    path = CORPUS / "maestro-toml" / name
    with pytest.raises(ConfigError) as caught:
        parse_config_file(path)
    message = str(caught.value)
    assert message.startswith(str(path))
    assert CONFIG_CASES[name] in message
    assert len(message) < 2000


@pytest.mark.parametrize("name", sorted(WORKFLOW_CASES))
def test_bad_workflow_gets_one_clear_message_quickly(name: str) -> None:
    path = CORPUS / "workflow" / name
    started = time.process_time()
    with pytest.raises(ConfigError) as caught:
        load_workflow(path)
    assert time.process_time() - started < 5, "parsing a hostile file must stay cheap"
    message = str(caught.value)
    assert message.startswith(str(path))
    assert WORKFLOW_CASES[name] in message
    assert all(len(line) < 400 for line in message.splitlines())  # one bounded line a problem


def test_a_byte_order_mark_is_not_mistaken_for_junk() -> None:
    config = parse_config_file(CORPUS / "maestro-toml" / "byte-order-mark.toml")
    assert config.id == "bom"


def test_a_workflow_with_a_byte_order_mark_keeps_its_front_matter(tmp_path: Path) -> None:
    path = tmp_path / "WORKFLOW.md"
    path.write_bytes(b"\xef\xbb\xbf+++\n[execution]\nmax_turns = 4\n+++\nDo it.\n")
    assert load_workflow(path).policy.execution.max_turns == 4


def test_a_workflow_with_windows_line_endings_is_read(tmp_path: Path) -> None:
    path = tmp_path / "WORKFLOW.md"
    path.write_bytes(b"+++\r\n[execution]\r\nmax_turns = 4\r\n+++\r\nDo it.\r\n")
    workflow = load_workflow(path)
    assert workflow.policy.execution.max_turns == 4
    assert workflow.body.strip() == "Do it."


def test_a_huge_workflow_is_refused_by_size(tmp_path: Path) -> None:
    path = tmp_path / "WORKFLOW.md"
    path.write_bytes(b"+++\nversion = 1\n+++\n" + b"y" * MAX_WORKFLOW_BYTES)
    with pytest.raises(ConfigError, match="expected at most"):
        load_workflow(path)


def test_binary_junk_as_workflow_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "WORKFLOW.md"
    path.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(ConfigError, match=r"binary data|NUL bytes"):
        load_workflow(path)


def test_a_huge_maestro_toml_gets_a_short_message(tmp_path: Path) -> None:
    path = tmp_path / "maestro.toml"
    path.write_text("# padding\n" * 200_000 + "id = [" + "1," * 100_000 + "\n")
    with pytest.raises(ConfigError, match="invalid TOML") as caught:
        parse_config_file(path)
    assert len(str(caught.value)) < 500


def test_unicode_everywhere_in_a_valid_workflow_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "WORKFLOW.md"
    path.write_text('+++\n[tracker]\nin_progress_state = "En cours ⏳"\n+++\nFaites-le. 你好 🎉\n',
                    encoding="utf-8")
    workflow = load_workflow(path)
    assert workflow.policy.tracker.in_progress_state == "En cours ⏳"
    assert "🎉" in workflow.body


# -- through the command line ---------------------------------------------------------------


def tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def run_cli(cwd: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
            *args: str) -> tuple[int, str]:
    monkeypatch.chdir(cwd)
    with pytest.raises(SystemExit) as exited:
        cli.main(list(args))
    captured = capsys.readouterr()
    return int(exited.value.code or 0), captured.out + captured.err


@pytest.mark.parametrize("name", sorted(CONFIG_CASES))
def test_cli_reports_a_bad_maestro_toml_and_writes_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        name: str) -> None:
    shutil.copy(CORPUS / "maestro-toml" / name, tmp_path / "maestro.toml")
    before = tree(tmp_path)
    code, output = run_cli(tmp_path, monkeypatch, capsys, "run", "--once", "--dry-run")
    assert code == 2
    assert "maestro: error:" in output and CONFIG_CASES[name] in output
    assert "Traceback" not in output
    assert tree(tmp_path) == before


@pytest.mark.parametrize("name", sorted(WORKFLOW_CASES))
def test_cli_reports_a_bad_workflow_and_writes_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        name: str) -> None:
    (tmp_path / "maestro.toml").write_text('id = "t"\nstate_root = ".maestro"\n')
    shutil.copy(CORPUS / "workflow" / name, tmp_path / "WORKFLOW.md")
    before = tree(tmp_path)
    code, output = run_cli(tmp_path, monkeypatch, capsys, "run", "--once", "--dry-run")
    assert code == 2
    assert "maestro: error:" in output and WORKFLOW_CASES[name] in output
    assert "Traceback" not in output
    assert {p for p in tree(tmp_path) - before if not p.startswith(".maestro")} == set()
