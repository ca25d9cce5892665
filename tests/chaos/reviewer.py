"""The chaos series' scripted reviewer: the human at the review boundary.

It is never killed: it stands for a person who keeps reviewing whatever maestro does. On
each pass it looks at every open PR of the local forge once: the first PR head of an issue
marked ``changes_requested`` gets one change request, every other head it has not reviewed
yet gets an approval. Decisions read only the forge, so a pass after any kill makes the
same choice again (idempotent by construction).
"""

from __future__ import annotations

from pathlib import Path

from maestro.errors import MaestroError
from maestro.forges.local import LocalForge
from maestro.ids import branch_name
from maestro.model import PullState, ReviewVerdict
from tests.chaos.scenario import Chaos


class Reviewer:
    def __init__(self, repo: Path, issues: tuple[Chaos, ...]) -> None:
        self.forge = LocalForge(repo, "origin")
        self.picky = {branch_name(i.identifier) for i in issues if i.changes_requested}
        self.actions: list[str] = []

    def review_pass(self) -> int:
        """Review what is waiting; returns how many reviews were recorded."""
        pulls = self.forge._all()
        asked = {pr.branch for pr in pulls
                 if any(r.verdict == ReviewVerdict.CHANGES_REQUESTED for r in pr.reviews)}
        done = 0
        for pr in pulls:
            if pr.state != PullState.OPEN:
                continue
            head = self.forge.branch_head(pr.branch) or pr.head
            if any(r.commit == head for r in pr.reviews):
                continue
            try:
                if pr.branch in self.picky and pr.branch not in asked:
                    self.forge.add_review(pr.number, ReviewVerdict.CHANGES_REQUESTED,
                                          "Please also list bye() in the changelog.",
                                          author="reviewer", path="CHANGELOG.md", line=3)
                    asked.add(pr.branch)
                    self.actions.append(f"requested changes on #{pr.number} ({pr.branch})")
                else:
                    self.forge.add_review(pr.number, ReviewVerdict.APPROVED, "Looks good.",
                                          author="reviewer")
                    self.actions.append(f"approved #{pr.number} ({pr.branch}) at {head[:8]}")
            except MaestroError:
                continue  # merged or closed since we looked: the next pass sees it
            done += 1
        return done
