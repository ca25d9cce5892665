"""Property tests of the parsers that read outside input: whatever the text, the answer is a
parsed value or maestro's own error with a message, never another exception.

Parsers covered: ``WORKFLOW.md`` front matter (TOML and YAML), ``maestro.toml``, the files
tracker's issue front matter, the scripted agent's ``maestro-script`` and issue identifiers.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maestro.agents.scripted import ScriptError, parse_script
from maestro.config.service import parse_config_file
from maestro.config.workflow import parse_workflow
from maestro.errors import ConfigError, InputError, TrackerError
from maestro.ids import branch_name, check_identifier
from maestro.trackers.files import FilesTracker

FUZZ = settings(max_examples=200, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

#: Text that looks like the formats: keys, fences, brackets, quotes, anchors, tags.
TOKENS = st.sampled_from([
    "+++", "---", "\n", "\r\n", " ", "  ", "=", ":", "[", "]", "{", "}", "\"", "'", ",", "-",
    "#", "&a", "*a", "!!python/object", "!!binary", "~", "null", "true", "1", "-1", "1e999",
    "version", "tracker", "execution", "max_turns", "startable_states", "read_first",
    "[execution]", "[tracker]", "path", "/etc", "..", "ghp_0123456789abcdefghijABCDEF",
    "é", "🎉", "\x00", "\t", "\\", "title", "state", "labels", "steps", "repair", "- ",
])
FORMAT_TEXT = st.lists(TOKENS | st.text(max_size=8), max_size=40).map("".join)
ANY_TEXT = st.text(max_size=300) | FORMAT_TEXT


@FUZZ
@given(text=ANY_TEXT)
def test_workflow_text_parses_or_gets_a_config_error(text: str) -> None:
    try:
        parse_workflow(text, Path("WORKFLOW.md"))
    except ConfigError as exc:
        assert str(exc).startswith("WORKFLOW.md")


@FUZZ
@given(fence=st.sampled_from(["+++", "---"]), inner=FORMAT_TEXT, body=st.text(max_size=50))
def test_workflow_front_matter_parses_or_gets_a_config_error(fence: str, inner: str,
                                                             body: str) -> None:
    try:
        parse_workflow(f"{fence}\n{inner}\n{fence}\n{body}", Path("WORKFLOW.md"))
    except ConfigError as exc:
        assert str(exc).startswith("WORKFLOW.md")


@FUZZ
@given(text=ANY_TEXT)
def test_maestro_toml_parses_or_gets_a_config_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "maestro.toml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        parse_config_file(path)
    except ConfigError as exc:
        assert str(exc).startswith(str(path))


@FUZZ
@given(inner=FORMAT_TEXT, body=st.text(max_size=50))
def test_issue_front_matter_parses_or_gets_a_tracker_error(tmp_path: Path, inner: str,
                                                           body: str) -> None:
    folder = tmp_path / "issues"
    folder.mkdir(exist_ok=True)
    (folder / "FZ-1.md").write_text(f"---\n{inner}\n---\n{body}", encoding="utf-8",
                                    errors="surrogatepass")
    tracker = FilesTracker(folder, "FZ")
    try:
        issue = tracker.get("FZ-1")
        tracker.comments("FZ-1")
    except TrackerError as exc:
        assert str(folder / "FZ-1.md") in str(exc)
    else:
        assert issue.identifier == "FZ-1" and issue.title and issue.state


@FUZZ
@given(inner=FORMAT_TEXT)
def test_scripted_agent_script_parses_or_gets_a_script_error(inner: str) -> None:
    try:
        script = parse_script(f"Work.\n```maestro-script\n{inner}\n```\n")
    except ScriptError as exc:
        assert str(exc)
    else:
        assert isinstance(script["steps"], list) and isinstance(script["repair"], list)


@FUZZ
@given(identifier=st.text(max_size=70) | st.from_regex(r"[A-Za-z0-9._-]{1,66}", fullmatch=True))
def test_an_accepted_identifier_is_one_safe_path_segment_and_branch(identifier: str) -> None:
    try:
        checked = check_identifier(identifier)
    except InputError as exc:
        assert "not usable as a lane name" in str(exc)
        return
    assert checked == identifier and identifier.isascii() and len(identifier) <= 64
    assert "/" not in identifier and "\\" not in identifier and ".." not in identifier
    assert not identifier.startswith(("-", ".")) and not identifier.endswith((".", ".lock"))
    assert (Path("/lanes") / identifier).parent == Path("/lanes")
    branch = branch_name(identifier)
    assert branch.startswith("maestro/") and " " not in branch and "~" not in branch
    assert not any(ch in branch for ch in "^:?*[@{")
