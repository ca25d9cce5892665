"""The operator's git identity, read in one git process from their own config only."""

from __future__ import annotations

from pathlib import Path

import pytest

from maestro.containment import gitguard


@pytest.mark.parametrize(("listing", "expected"), [
    ("user.name\nAda\0user.email\nada@example.invalid\0",
     {"name": "Ada", "email": "ada@example.invalid"}),
    ("user.name\nOld\0user.name\nNew\0user.email\ne@x\0", {"name": "New", "email": "e@x"}),
    ("user.name\0user.email\ne@x\0", {"name": "", "email": "e@x"}),  # a key with no value
    ("", {}),
])
def test_the_last_value_of_each_key_counts(listing: str, expected: dict[str, str]) -> None:
    assert gitguard.last_values(listing) == expected


def identity_from(config: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                  ) -> dict[str, str]:
    (tmp_path / "gitconfig").write_text(config)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    gitguard.operator_identity.cache_clear()
    try:
        return gitguard.operator_identity()
    finally:
        gitguard.operator_identity.cache_clear()


def test_the_operators_identity_is_read_from_their_config(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = "[user]\n\tname = Old\n\tname = Ada\n\temail = ada@example.invalid\n"
    assert identity_from(config, tmp_path, monkeypatch) == {
        "name": "Ada", "email": "ada@example.invalid"}


def test_half_an_identity_gives_the_neutral_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert identity_from("[user]\n\tname = Ada\n", tmp_path, monkeypatch) == \
        gitguard.NEUTRAL_IDENTITY
