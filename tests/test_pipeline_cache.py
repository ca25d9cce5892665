"""The compiled lane pipeline is cached under the state root and recompiled on any change."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from maestro.errors import ConfigError
from maestro.pipeline.files import default_pipeline_path
from maestro.pipeline.spec import CACHE_NAME, load_pipeline


@pytest.fixture(autouse=True)
def fresh_process() -> Iterator[None]:
    """Each load below is what a new lane process does (no in-process memo)."""
    load_pipeline.cache_clear()
    yield
    load_pipeline.cache_clear()


@pytest.fixture
def pipeline(tmp_path: Path) -> Path:
    path = tmp_path / "lane.yaml"
    shutil.copy(default_pipeline_path(), path)
    return path


def load(path: Path, cache: Path) -> list[str]:
    load_pipeline.cache_clear()
    return [phase.doc for phase in load_pipeline(path, cache).phases]


def test_a_compiled_pipeline_is_cached_and_read_back_unchanged(pipeline: Path,
                                                                tmp_path: Path) -> None:
    first = load_pipeline(pipeline, tmp_path / "cache")
    assert (tmp_path / "cache" / CACHE_NAME).is_file()
    load_pipeline.cache_clear()
    assert load_pipeline(pipeline, tmp_path / "cache") == first


def test_an_edited_pipeline_is_seen_by_the_next_load(pipeline: Path, tmp_path: Path) -> None:
    load(pipeline, tmp_path / "cache")
    pipeline.write_text(pipeline.read_text().replace(
        "doc: remove the worktree and the lane branch", "doc: tidy up"))
    assert load(pipeline, tmp_path / "cache")[-1] == "tidy up"


def test_an_edit_that_keeps_size_and_mtime_is_seen_too(pipeline: Path, tmp_path: Path) -> None:
    load(pipeline, tmp_path / "cache")
    info = pipeline.stat()
    text = pipeline.read_text().replace("doc: remove the worktree and the lane branch",
                                        "doc: remove the worktree and the lane BRANCH")
    pipeline.write_text(text)
    os.utime(pipeline, ns=(info.st_atime_ns, info.st_mtime_ns))
    assert load(pipeline, tmp_path / "cache")[-1].endswith("BRANCH")


def test_a_pipeline_made_invalid_is_refused_despite_the_cache(pipeline: Path,
                                                              tmp_path: Path) -> None:
    load(pipeline, tmp_path / "cache")
    pipeline.write_text(pipeline.read_text().replace("after: closeout", "after: nowhere"))
    with pytest.raises(ConfigError, match="unknown phase 'nowhere'"):
        load(pipeline, tmp_path / "cache")


@pytest.mark.parametrize("damage", ["", "{", '{"key": 1}', '{"key": {}, "spec": 3}'])
def test_a_damaged_cache_entry_is_compiled_again(pipeline: Path, tmp_path: Path,
                                                 damage: str) -> None:
    expected = load(pipeline, tmp_path / "cache")
    (tmp_path / "cache" / CACHE_NAME).write_text(damage)
    assert load(pipeline, tmp_path / "cache") == expected
