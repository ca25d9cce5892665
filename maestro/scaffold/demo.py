"""``maestro demo``: the whole lifecycle, offline, on real git and real processes.

It builds a sandbox repository with a bare ``origin``, a files tracker with four issues (one
plain, one that asks for a human, one blocked by the first, one that needs a review repair
round), then runs poll ticks with the scripted agent while a scripted reviewer approves or
requests changes, until nothing is left to do.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from maestro.config.service import parse_config_file
from maestro.errors import InputError
from maestro.forges.local import LocalForge
from maestro.git import git, git_env
from maestro.model import PullState, ReviewVerdict
from maestro.operator.live import watching
from maestro.orchestration.orchestrator import Orchestrator
from maestro.scaffold.repository import init_repository
from maestro.trackers.files import FilesTracker

HELLO = '''\
"""A tiny module for the demo's agents to change."""


def greet(name: str) -> str:
    return f"hello, {name}"
'''

TEST_HELLO = '''\
import unittest

import hello


class GreetTest(unittest.TestCase):
    def test_greets_by_name(self) -> None:
        self.assertTrue(hello.greet("ada").startswith("hello"))


if __name__ == "__main__":
    unittest.main()
'''

ISSUES = [
    ("DEMO-1", "Document the greeting", [], 1, """\
Write docs/greeting.md explaining what `hello.greet` returns.

```maestro-script
steps:
  - say: "I will document what greet() returns in docs/greeting.md, then run the tests."
  - write:
      path: docs/greeting.md
      content: "# Greeting\\n\\n`greet(name)` returns `hello, <name>`.\\n"
  - commit: "docs: explain the greeting"
  - run: "python3 -m unittest -q test_hello"
  - checkpoint: {phase: implement, focus: docs, next_action: handoff, verification: "unit tests"}
  - handoff: "Added docs/greeting.md"
```
"""),
    ("DEMO-2", "Choose a license", [], 2, """\
Pick the project's license. This needs a maintainer's decision.

```maestro-script
steps:
  - attention: "choosing a license is a maintainer decision; please pick one"
```
"""),
    ("DEMO-3", "Link the greeting docs from the README", ["DEMO-1"], 2, """\
After DEMO-1 lands, link docs/greeting.md from the README.

```maestro-script
steps:
  - append: {path: README.md, content: "\\nSee [the greeting](docs/greeting.md).\\n"}
  - commit: "readme: link the greeting docs"
  - handoff: "README links docs/greeting.md"
```
"""),
    ("DEMO-4", "Start a changelog", [], 3, """\
Add a CHANGELOG.md. The reviewer will ask for one more entry.

```maestro-script
steps:
  - write: {path: CHANGELOG.md, content: "# Changelog\\n\\n- greet() says hello\\n"}
  - commit: "changelog: start it"
  - handoff: "Started CHANGELOG.md"
repair:
  - append: {path: CHANGELOG.md, content: "- docs for greet()\\n"}
  - commit: "changelog: add the docs entry (review)"
  - repair_complete: "Added the entry the reviewer asked for"
```
"""),
]


@dataclass
class DemoResult:
    root: Path
    repo: Path
    origin: Path
    ticks: int
    seconds: float


def build_sandbox(root: Path) -> tuple[Path, Path]:
    """A repository with a bare origin, maestro files and the demo issues."""
    if root.exists() and any(root.iterdir()):
        raise InputError(f"--dir {root}: folder exists and is not empty; choose a new folder")
    root.mkdir(parents=True, exist_ok=True)
    origin = root / "origin.git"
    repo = root / "repo"
    git(root, "init", "--quiet", "--bare", "--initial-branch=main", str(origin))
    git(root, "init", "--quiet", "--initial-branch=main", str(repo))
    (repo / "hello.py").write_text(HELLO)
    (repo / "test_hello.py").write_text(TEST_HELLO)
    (repo / "README.md").write_text("# demo\n\nA sandbox for `maestro demo`.\n")
    init_repository(repo, prefix="DEMO",
                    validation=["python3 -m unittest -q test_hello"])
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "initial commit")
    git(repo, "remote", "add", "origin", str(origin))
    git(repo, "push", "--quiet", "origin", "main")
    git(repo, "branch", "--quiet", "--set-upstream-to=origin/main", "main")
    tracker = FilesTracker(repo / "issues", "DEMO")
    for identifier, title, blocked_by, priority, body in ISSUES:
        tracker.create(title, body, blocked_by=blocked_by, priority=priority,
                       identifier=identifier)
    return repo, origin


def reviewer_pass(repo: Path, forge: LocalForge) -> list[str]:
    """The scripted reviewer: one change request for DEMO-4, approvals for the rest."""
    actions = []
    for pr in forge._all():
        if pr.state != PullState.OPEN:
            continue
        head = forge.branch_head(pr.branch) or pr.head
        reviewed = [r for r in pr.reviews if r.commit == head]
        if reviewed:
            continue
        if pr.branch.endswith("demo-4") and not pr.reviews:
            forge.add_review(pr.number, ReviewVerdict.CHANGES_REQUESTED,
                             "Please also list the docs change.", author="reviewer",
                             path="CHANGELOG.md", line=3)
            actions.append(f"requested changes on #{pr.number} ({pr.branch})")
        else:
            forge.add_review(pr.number, ReviewVerdict.APPROVED, "Looks good.",
                             author="reviewer")
            actions.append(f"approved #{pr.number} ({pr.branch})")
    return actions


def run_demo(root: Path | None = None, max_ticks: int = 40, echo: bool = True) -> DemoResult:
    started = time.monotonic()
    root = root or Path(tempfile.mkdtemp(prefix="maestro-demo-"))
    repo, origin = build_sandbox(root.resolve())
    config = parse_config_file(repo / "maestro.toml")
    orchestrator = Orchestrator(config)
    forge = LocalForge(repo, "origin")
    say = print if echo else (lambda *a, **k: None)
    say(f"maestro demo: sandbox at {root}")
    ticks = 0
    idle = 0
    with watching(config, enabled=echo):  # the live view when stdout is a terminal
        for ticks in range(1, max_ticks + 1):
            plan = orchestrator.tick(wait=True)
            for item in plan.dispatch:
                say(f"  tick {ticks}: ran lane {item['issue']} ({item['reason']})")
            actions = reviewer_pass(repo, forge)
            for action in actions:
                say(f"  tick {ticks}: reviewer {action}")
            if not plan.dispatch and not actions:
                if not plan.retries_waiting:
                    break
                idle += 1
                time.sleep(1.0)
    return DemoResult(root, repo, origin, ticks, time.monotonic() - started)


def summary_rows(result: DemoResult) -> list[tuple[str, str, str, str]]:
    tracker = FilesTracker(result.repo / "issues", "DEMO")
    rows = []
    for issue in tracker.all_issues():
        lane = result.repo / ".maestro" / "lanes" / issue.identifier
        cleaned = (lane / "cleanup.json").exists()
        rows.append((issue.identifier, issue.title, issue.state,
                     ", ".join(issue.labels) + (" (lane cleaned)" if cleaned else "")))
    return rows


def origin_log(result: DemoResult) -> str:
    proc = subprocess.run(["git", "log", "--oneline", "main"], cwd=result.origin,
                          capture_output=True, text=True, errors="replace", check=False,
                          env=git_env(result.origin))
    return proc.stdout.strip()
