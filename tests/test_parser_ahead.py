"""A parser built ahead of need (the warm-worker zygote does, before it forks lanes) is
what the next ``maestro`` command in the process parses with, once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from maestro import cli


@pytest.fixture(autouse=True)
def _nothing_built() -> Iterator[None]:
    cli._BUILT.clear()
    yield
    cli._BUILT.clear()


def test_the_next_command_takes_the_parser_built_ahead_and_the_one_after_builds_its_own(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    cli.build_parser_ahead()
    real = cli.build_parser
    built: list[int] = []

    def counting(only: str | None = None) -> object:
        built.append(1)
        return real(only)

    monkeypatch.setattr(cli, "build_parser", counting)
    for _ in range(2):
        with pytest.raises(SystemExit) as stop:
            cli.main(["--version"])
        assert stop.value.code == 0
    assert built == [1]
    assert capsys.readouterr().out.count("maestro ") == 2
