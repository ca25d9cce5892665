"""A process builds the parser of the command it runs alone, and parses exactly as the
whole parser does (maestro/cli_subset.py)."""

from __future__ import annotations

import argparse
import contextlib
import io
from typing import Any

import pytest

from maestro.cli import build_parser

ARGVS = [
    ["lane", "ABC-1"], ["lane", "ABC-1", "--quiet", "--json"], ["lane", "ABC-1", "--reset"],
    ["lane", "ABC-1", "--config", "x.toml", "--workflow", "W.md"],
    ["lane"], ["lane", "--help"], ["lane", "ABC-1", "--bogus"],
    ["review", "approve", "ABC-1"], ["review"], ["status", "--json"],
    ["issue", "show", "ABC-1"], ["issue", "new", "--title", "t"], ["logs", "ABC-1", "-f"],
    ["run", "--once"], ["plan"], ["daemon"], ["assets", "check"], ["retry", "ABC-1"],
    ["nope"], ["lanes", "ABC-1"],
]


def parsed(parser: argparse.ArgumentParser, argv: list[str]) -> tuple[Any, ...]:
    """What parsing ``argv`` gives: the options (handlers by name), the exit code of a
    refusal or ``--help``, and what was printed."""
    out, err = io.StringIO(), io.StringIO()
    options: dict[str, Any] | None = None
    code: object = None
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            options = {key: getattr(value, "__name__", value)
                       for key, value in vars(parser.parse_args(argv)).items()}
        except SystemExit as stop:
            code = stop.code
    return options, code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("argv", ARGVS, ids=" ".join)
def test_the_parser_of_one_command_parses_as_the_whole_parser(argv: list[str]) -> None:
    assert parsed(build_parser(argv[0]), argv) == parsed(build_parser(), argv)


def commands(parser: argparse.ArgumentParser) -> set[str]:
    return {name for action in parser._actions if isinstance(action, argparse._SubParsersAction)
            for name in action.choices}


def test_a_command_named_first_is_built_alone_and_anything_else_whole() -> None:
    whole = commands(build_parser())
    assert commands(build_parser("lane")) == {"lane"}
    assert commands(build_parser("retry")) == {"retry"}  # the operator's commands too
    assert commands(build_parser("nope")) == whole
    assert {"lane", "review", "status", "retry"} <= whole
