"""A merge on the local forge ends with ``git gc --auto`` on origin: merges write objects no
push's receive-pack counts, and a long-lived origin must not grow packs without bound."""

from __future__ import annotations

from pathlib import Path

from forge.conftest import Remote, sh

from maestro.forges.local import LocalForge


def _packs(origin: Path) -> int:
    return len(list((origin / "objects" / "pack").glob("*.pack")))


def test_a_merge_packs_an_origin_that_is_over_gits_pack_limit(remote: Remote,
                                                              tmp_path: Path) -> None:
    forge = LocalForge(remote.clone, "origin")
    sh(remote.clone, "checkout", "--quiet", "-b", "lane")
    head = remote.commit("feature.txt", "feature\n", "feature")
    sh(remote.clone, "push", "--quiet", "origin", "lane")
    number = forge.open_pr("lane", "main", "feature", "").number
    for name in ("x", "y"):  # two more packs than git tolerates with autoPackLimit=1
        blob = tmp_path / name
        blob.write_text(name)
        sha = sh(remote.origin, "hash-object", "-w", str(blob))
        sh(remote.origin, "update-ref", f"refs/tags/{name}", sha)  # reachable, so packed
        sh(remote.origin, "repack", "-q")
    sh(remote.origin, "config", "gc.autoPackLimit", "1")
    assert _packs(remote.origin) >= 2
    forge.merge(number, head, "merge")
    assert _packs(remote.origin) == 1
