"""The chaos series' world: a sandbox repository, its issues, and the end it must reach.

Each issue carries its ``maestro-script`` as data (:class:`Chaos`), so the same list both
writes the issue description and derives what origin's ``main`` must hold once every lane
is delivered: the initial files with each delivered issue's writes, appends and deletions
applied (:func:`expected_tree`). Nothing here knows how maestro does its work; it only says
what the world looks like at the start and at the end.

Shapes: a *tree* is ``{path: bytes}`` of every file tracked on a branch.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from maestro.scaffold.demo import HELLO, TEST_HELLO
from maestro.scaffold.repository import init_repository
from maestro.trackers.files import FilesTracker

PREFIX = "CHAOS"
ATTENTION_LABEL = "maestro:needs-attention"
#: Short enough that retries queued by a genuine failure fire within the settle window.
MAX_RETRY_BACKOFF_MS = 2000
MAX_CONCURRENT_AGENTS = 3

#: Files in the initial commit besides what ``maestro init`` writes.
SEED_FILES = {
    "hello.py": HELLO,
    "test_hello.py": TEST_HELLO,
    "README.md": "# chaos sandbox\n\nA repository for maestro's chaos series.\n",
    "OBSOLETE.md": "This file is deleted on purpose by one lane.\n",
}


@dataclass(frozen=True)
class Chaos:
    """One issue of the series: its script and the end state it must reach.

    ``steps``/``repair`` are scripted-agent steps (``docs/spec/scripted-agent.md``); the file
    steps ``write``, ``append`` and ``run: git rm -q PATH`` are what :func:`expected_tree`
    replays. ``attention`` issues end in the failure state with the attention label and
    never merge; ``changes_requested`` issues get one change request from the reviewer."""

    identifier: str
    title: str
    steps: list[Any]
    repair: list[Any] = field(default_factory=list)
    blocked_by: tuple[str, ...] = ()
    priority: int = 2
    attention: bool = False
    changes_requested: bool = False

    def body(self) -> str:
        script: dict[str, Any] = {"steps": self.steps}
        if self.repair:
            script["repair"] = self.repair
        # JSON is YAML: the scripted agent reads exactly the data above.
        return f"{self.title}.\n\n```maestro-script\n{json.dumps(script, indent=1)}\n```\n"

    @property
    def end_state(self) -> tuple[str, tuple[str, ...]]:
        """(tracker state, labels) once everything settled."""
        return ("Todo", (ATTENTION_LABEL,)) if self.attention else ("Done", ())


def _write(path: str, content: str) -> dict[str, Any]:
    return {"write": {"path": path, "content": content}}


ISSUES: tuple[Chaos, ...] = (
    Chaos(f"{PREFIX}-1", "Document the greeting", [
        _write("docs/greeting.md", "# Greeting\n\n`greet(name)` says hello.\n"),
        {"commit": "docs: explain the greeting"},
        {"handoff": "Added docs/greeting.md"},
    ], priority=1),
    Chaos(f"{PREFIX}-2", "Add a farewell", [
        _write("farewell.py", '"""Say goodbye."""\n\n\ndef bye(name: str) -> str:\n'
                              '    return f"bye, {name}"\n'),
        {"checkpoint": {"phase": "implement", "next_action": "handoff"}},
        {"commit": "farewell: add bye()"},
        {"handoff": "Added farewell.py"},
    ]),
    Chaos(f"{PREFIX}-3", "Choose a license", [
        {"attention": "choosing a license is a maintainer decision"},
    ], attention=True),
    Chaos(f"{PREFIX}-4", "Start a changelog", [
        _write("CHANGELOG.md", "# Changelog\n\n- greet() says hello\n"),
        {"commit": "changelog: start it"},
        {"handoff": "Started CHANGELOG.md"},
    ], repair=[
        {"append": {"path": "CHANGELOG.md", "content": "- bye() says goodbye\n"}},
        {"commit": "changelog: add the farewell entry (review)"},
        {"repair_complete": "Added the entry the reviewer asked for"},
    ], changes_requested=True),
    Chaos(f"{PREFIX}-5", "Say how to run the tests in the README", [
        {"append": {"path": "README.md", "content": "\nRun `python -m unittest`.\n"}},
        {"commit": "readme: how to run the tests"},
        {"handoff": "README says how to run the tests"},
    ]),
    Chaos(f"{PREFIX}-6", "Drop the obsolete note", [
        {"run": "git rm -q OBSOLETE.md"},
        _write("notes/obsolete.md", "OBSOLETE.md was dropped: nothing used it.\n"),
        {"commit": "drop OBSOLETE.md"},
        {"handoff": "Deleted OBSOLETE.md on purpose"},
    ]),
    Chaos(f"{PREFIX}-7", "Link the greeting docs", [
        _write("docs/index.md", "# Docs\n\n- [greeting](greeting.md)\n"),
        {"commit": "docs: index"},
        {"handoff": "Added docs/index.md"},
    ], blocked_by=(f"{PREFIX}-1",), priority=3),
    Chaos(f"{PREFIX}-8", "Add a config example over two turns", [
        _write("config/example.toml", "[greeting]\n"),
        "end_turn",
        {"append": {"path": "config/example.toml", "content": "name = \"ada\"\n"}},
        {"commit": "config: example"},
        {"handoff": "Added config/example.toml"},
    ]),
)


def git(cwd: Path, *args: str) -> str:
    """Plain git for the harness (not maestro's wrapper: the oracle stays independent)."""
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} in {cwd}: {proc.stderr.strip()}")
    return proc.stdout.strip()


def workflow_text(text: str) -> str:
    """``maestro init``'s WORKFLOW.md tuned for the series: a few lanes at once, short
    retry backoff (the settle window must outlast it)."""
    text = text.replace("max_concurrent_agents = 2",
                        f"max_concurrent_agents = {MAX_CONCURRENT_AGENTS}\n"
                        f"max_retry_backoff_ms = {MAX_RETRY_BACKOFF_MS}")
    if f"max_retry_backoff_ms = {MAX_RETRY_BACKOFF_MS}" not in text:
        raise RuntimeError("WORKFLOW.md template changed: cannot set the chaos limits")
    return text


def build(root: Path, issues: tuple[Chaos, ...] = ISSUES) -> tuple[Path, Path]:
    """A repository (``root/repo``) with a bare origin (``root/origin.git``), maestro's
    files pushed to ``main``, and the issues in its files tracker (not committed)."""
    root.mkdir(parents=True, exist_ok=True)
    origin, repo = root / "origin.git", root / "repo"
    git(root, "init", "--quiet", "--bare", "--initial-branch=main", str(origin))
    git(root, "init", "--quiet", "--initial-branch=main", str(repo))
    for name, text in SEED_FILES.items():
        (repo / name).write_text(text)
    init_repository(repo, prefix=PREFIX, validation=["python3 -m unittest -q test_hello"])
    workflow = repo / "WORKFLOW.md"
    workflow.write_text(workflow_text(workflow.read_text()))
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=chaos", "-c", "user.email=chaos@example.invalid",
        "commit", "--quiet", "-m", "initial commit")
    git(repo, "remote", "add", "origin", str(origin))
    git(repo, "push", "--quiet", "origin", "main")
    git(repo, "branch", "--quiet", "--set-upstream-to=origin/main", "main")
    tracker = FilesTracker(repo / "issues", PREFIX)
    for issue in issues:
        tracker.create(issue.title, issue.body(), blocked_by=issue.blocked_by,
                       priority=issue.priority, identifier=issue.identifier)
    return repo, origin


def tree_of(repo: Path, ref: str) -> dict[str, bytes]:
    """Every file tracked at ``ref`` with its content, read from one commit: a lane may
    merge (and move ``ref``) between the listing and the reads."""
    commit = git(repo, "rev-parse", "--verify", f"{ref}^{{commit}}").strip()
    names = git(repo, "ls-tree", "-r", "--name-only", "-z", commit).split("\0")
    result = {}
    for name in filter(None, names):
        result[name] = subprocess.run(["git", "cat-file", "blob", f"{commit}:{name}"], cwd=repo,
                                      capture_output=True, check=True).stdout
    return result


def expected_tree(initial: dict[str, bytes], issues: tuple[Chaos, ...]) -> dict[str, bytes]:
    """``initial`` with the file steps of every issue that must be delivered applied."""
    tree = dict(initial)
    for issue in issues:
        if issue.attention:
            continue
        for step in [*issue.steps, *(issue.repair if issue.changes_requested else [])]:
            if not isinstance(step, dict):
                continue
            if "write" in step:
                tree[step["write"]["path"]] = step["write"]["content"].encode()
            elif "append" in step:
                path = step["append"]["path"]
                tree[path] = tree.get(path, b"") + step["append"]["content"].encode()
            elif "run" in step and str(step["run"]).startswith("git rm -q "):
                tree.pop(str(step["run"]).removeprefix("git rm -q "), None)
    return tree
