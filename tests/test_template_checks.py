"""Workflow bodies that passed the template check are not checked (nor Liquid imported)
again; anything else is checked as before (maestro.config.template_checks)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from maestro.config.template_checks import CACHE_NAME, TemplateChecks
from maestro.config.workflow import parse_workflow
from maestro.errors import ConfigError

SOURCE = Path("WORKFLOW.md")
GOOD = "+++\n+++\nFix {{ issue.identifier }}: {{ issue.title }}\n"
BAD = "+++\n+++\nFix {{ issue.nonsense }}\n"

PARSE_IN_FRESH_PROCESS = """
import sys
from pathlib import Path
from maestro.config.template_checks import TemplateChecks
from maestro.config.workflow import parse_workflow
parse_workflow(sys.argv[1], Path("WORKFLOW.md"), TemplateChecks(Path(sys.argv[2])))
print("liquid" in sys.modules)
"""


def fresh_parse_imports_liquid(text: str, folder: Path) -> bool:
    proc = subprocess.run([sys.executable, "-c", PARSE_IN_FRESH_PROCESS, text, str(folder)],
                          capture_output=True, text=True, check=True)
    return proc.stdout.strip() == "True"


def test_a_body_that_passed_is_parsed_without_liquid_in_the_next_process(
        tmp_path: Path) -> None:
    assert fresh_parse_imports_liquid(GOOD, tmp_path)
    assert not fresh_parse_imports_liquid(GOOD, tmp_path)


def test_an_edited_body_is_checked_again(tmp_path: Path) -> None:
    checks = TemplateChecks(tmp_path)
    parse_workflow(GOOD, SOURCE, checks)
    with pytest.raises(ConfigError, match=r"issue\.nonsense"):
        parse_workflow(BAD, SOURCE, checks)


def test_a_failing_body_is_never_remembered(tmp_path: Path) -> None:
    checks = TemplateChecks(tmp_path)
    for _ in range(2):
        with pytest.raises(ConfigError, match=r"issue\.nonsense"):
            parse_workflow(BAD, SOURCE, checks)
    assert not checks.passed(BAD.split("+++\n", 2)[2])


@pytest.mark.parametrize("content", ["not json", '{"a": 1}', "[1, 2]"])
def test_a_damaged_file_reads_as_nothing_passed(tmp_path: Path, content: str) -> None:
    (tmp_path / CACHE_NAME).write_text(content)
    checks = TemplateChecks(tmp_path)
    with pytest.raises(ConfigError, match=r"issue\.nonsense"):
        parse_workflow(BAD, SOURCE, checks)
    parse_workflow(GOOD, SOURCE, checks)
    assert checks.passed(GOOD.split("+++\n", 2)[2])
