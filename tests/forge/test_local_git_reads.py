"""The local forge asks git each question once: what a call has just read, or a command's
own answer, is not asked again before the next outward step."""

from __future__ import annotations

from forge.conftest import Remote, sh

from maestro.forges.local import LocalForge

BRANCH = "maestro/x-1"


def test_deleting_a_branch_removes_it_on_origin_and_a_missing_one_is_fine(
        remote: Remote) -> None:
    sh(remote.clone, "push", "--quiet", "origin", f"HEAD:refs/heads/{BRANCH}")
    forge = LocalForge(remote.clone, "origin")
    forge.delete_branch(BRANCH)
    assert remote.head(f"refs/heads/{BRANCH}") is None
    forge.delete_branch(BRANCH)  # idempotent
    assert remote.head("refs/heads/main") is not None
