"""What must hold once the chaos series settled, and what may never happen on the way.

Facts are gathered first, from the world only (the files tracker, git in the repository
and in the bare origin, the lane folders' lock files, ``retries.json``): :func:`observe`
returns a frozen :class:`World`. The checks are pure functions of a ``World``
(:data:`FINAL_CHECKS`); :data:`ONGOING_CHECKS` are the ones that, once broken, stay broken,
so the driver runs them after every kill to name the kill after which they broke.

Invariant names (the ``invariant`` of a :class:`Violation`):

- ``end_state``: every issue in its expected state and labels, its lane finished (cleaned
  up when delivered, ``attention.json`` when it asks for a human);
- ``one_merge``: exactly one merge of each delivered lane branch on origin ``main``, none of
  the others;
- ``unique_comment``: no two maestro comments with the same (kind, run_id, round);
- ``no_orphan_worktree``: no worktree (registered, prunable, locked or a bare folder under
  the workspace root) except the kept worktree of a lane that asks for a human, and no
  leftover check worktree of the local forge in origin;
- ``no_orphan_branch``: no lane branch, local or on origin, except for lanes that ask for a
  human;
- ``no_held_lease``: no ``lane.lock`` held by anyone;
- ``no_retry_entry``: ``retries.json`` is empty;
- ``no_open_pr``: no PR left open;
- ``no_lost_file``: every file of the initial commit and of each delivered issue is on
  origin ``main``, except the ones a lane deleted on purpose;
- ``main_as_intended``: no other file on ``main`` and every file with the intended content.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from maestro.ids import branch_name
from maestro.lanes.record import comments
from maestro.trackers.files import FilesTracker
from tests.chaos.scenario import PREFIX, Chaos, git, tree_of

_MERGE = re.compile(r"^Merge pull request #(\d+) from (\S+)$")
_SQUASH = re.compile(r"\(#(\d+)\)$")


@dataclass(frozen=True)
class Violation:
    invariant: str
    subject: str
    detail: str

    def __str__(self) -> str:
        return f"{self.invariant}: {self.subject}: {self.detail}"


@dataclass(frozen=True)
class Worktree:
    path: str
    branch: str
    flags: tuple[str, ...]  # "locked", "prunable"


@dataclass(frozen=True)
class World:
    """Everything the checks look at, gathered at one moment."""

    issues: tuple[Chaos, ...]
    repo: Path
    #: identifier -> (state, labels)
    states: dict[str, tuple[str, tuple[str, ...]]]
    #: identifier -> maestro state blocks of its comments, oldest first
    blocks: dict[str, list[dict[str, Any]]]
    #: lane folder name -> names of the files in it
    lanes: dict[str, frozenset[str]]
    held_leases: frozenset[str]
    retries: dict[str, Any]
    worktrees: tuple[Worktree, ...]
    worktree_folders: frozenset[str]
    origin_worktrees: tuple[str, ...]
    local_branches: frozenset[str]
    origin_branches: frozenset[str]
    #: PR number -> (branch, state)
    pulls: dict[int, tuple[str, str]]
    #: subjects of origin main's first-parent history, newest first
    main_subjects: tuple[str, ...]
    main_tree: dict[str, bytes]
    expected_tree: dict[str, bytes]
    #: files some issue deletes on purpose
    deletable: frozenset[str]


# -- facts ------------------------------------------------------------------------------------


def held_locks() -> frozenset[tuple[int, int, int]]:
    """(major, minor, inode) of every file some process holds an OS lock on, read from
    ``/proc/locks``: looking never takes a lock, so it never makes a lane's own
    ``acquire`` (timeout 0) fail the way a probing ``flock`` could."""
    found = set()
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        if len(fields) > 5 and fields[1] != "->":
            major, minor, inode = fields[5].split(":")
            found.add((int(major, 16), int(minor, 16), int(inode)))
    return frozenset(found)


def lock_held(path: Path, held: frozenset[tuple[int, int, int]] | None = None) -> bool:
    """True when some process holds an OS lock on ``path``."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return False
    key = (os.major(stat.st_dev), os.minor(stat.st_dev), stat.st_ino)
    return key in (held_locks() if held is None else held)


def _worktrees(repo: Path) -> tuple[Worktree, ...]:
    found: list[Worktree] = []
    for entry in git(repo, "worktree", "list", "--porcelain").split("\n\n"):
        fields = dict([*line.split(" ", 1), ""][:2] for line in entry.splitlines() if line)
        if "worktree" not in fields or Path(fields["worktree"]) == repo:
            continue
        flags = tuple(sorted(f for f in ("locked", "prunable") if f in fields))
        found.append(Worktree(fields["worktree"],
                              fields.get("branch", "").removeprefix("refs/heads/"), flags))
    return tuple(found)


def _refs(repo: Path, pattern: str) -> frozenset[str]:
    out = git(repo, "for-each-ref", "--format=%(refname:short)", pattern)
    return frozenset(line for line in out.splitlines() if line)


def progress(repo: Path) -> tuple[dict[str, tuple[str, tuple[str, ...]]],
                                 dict[str, frozenset[str]]]:
    """The cheap part of :func:`observe`: issue states and lane folder listings."""
    tracker = FilesTracker(repo / "issues", PREFIX)
    states = {i.identifier: (i.state, tuple(i.labels)) for i in tracker.all_issues()}
    root = repo / ".maestro" / "lanes"
    lanes = {d.name: frozenset(p.name for p in d.iterdir())
             for d in sorted(root.iterdir()) if d.is_dir()} if root.is_dir() else {}
    return states, lanes


def observe(repo: Path, origin: Path, issues: tuple[Chaos, ...],
            expected: dict[str, bytes], deletable: frozenset[str]) -> World:
    tracker = FilesTracker(repo / "issues", PREFIX)
    states, lanes = progress(repo)
    blocks = {i.identifier: comments.blocks(tracker.comments(i.identifier)) for i in issues}
    lanes_root = repo / ".maestro" / "lanes"
    locks = held_locks()
    held = frozenset(name for name in lanes
                     if lock_held(lanes_root / name / "lane.lock", locks))
    retries_file = repo / ".maestro" / "retries.json"
    retries = json.loads(retries_file.read_text() or "{}") if retries_file.exists() else {}
    workspace = repo / ".worktrees"
    folders = frozenset(p.name for p in workspace.iterdir()) if workspace.is_dir() else frozenset()
    origin_trees = tuple(line.removeprefix("worktree ") for line in git(
        origin, "worktree", "list", "--porcelain").splitlines()
        if line.startswith("worktree ") and Path(line.removeprefix("worktree ")) != origin)
    pulls: dict[int, tuple[str, str]] = {}
    for record in sorted((origin / "maestro-forge" / "pulls").glob("*.json")):
        data = json.loads(record.read_text())
        pulls[int(data["number"])] = (str(data["branch"]), str(data["state"]))
    return World(
        issues=issues, repo=repo, states=states, blocks=blocks, lanes=lanes, held_leases=held,
        retries=retries if isinstance(retries, dict) else {"?": retries},
        worktrees=_worktrees(repo), worktree_folders=folders, origin_worktrees=origin_trees,
        local_branches=_refs(repo, "refs/heads/maestro/"),
        origin_branches=_refs(origin, "refs/heads/maestro/"),
        pulls=pulls,
        main_subjects=tuple(git(origin, "log", "--first-parent", "--format=%s",
                                "main").splitlines()),
        main_tree=tree_of(origin, "main"), expected_tree=expected, deletable=deletable)


# -- checks -----------------------------------------------------------------------------------


def _keeps_lane(world: World, identifier: str) -> bool:
    """Lanes that ask for a human keep their worktree and branch for that human."""
    return any(i.identifier == identifier and i.attention for i in world.issues)


def end_state(world: World) -> Iterable[Violation]:
    return end_state_of(world.issues, world.states, world.lanes)


def end_state_of(issues: Iterable[Chaos], states: dict[str, tuple[str, tuple[str, ...]]],
                 lanes: dict[str, frozenset[str]]) -> Iterable[Violation]:
    for issue in issues:
        want = issue.end_state
        got = states.get(issue.identifier)
        if got is None or (got[0], tuple(sorted(got[1]))) != (want[0], tuple(sorted(want[1]))):
            yield Violation("end_state", issue.identifier, f"is {got}, expected {want}")
        files = lanes.get(issue.identifier, frozenset())
        marker = "attention.json" if issue.attention else "cleanup.json"
        if marker not in files:
            yield Violation("end_state", issue.identifier,
                            f"lane not finished: no {marker} (lane holds {sorted(files)})")


def merges_by_branch(world: World) -> Counter[str]:
    counts: Counter[str] = Counter()
    for subject in world.main_subjects:
        if match := _MERGE.match(subject):
            counts[match.group(2)] += 1
        elif (match := _SQUASH.search(subject)) and int(match.group(1)) in world.pulls:
            counts[world.pulls[int(match.group(1))][0]] += 1
    return counts


def one_merge(world: World) -> Iterable[Violation]:
    counts = merges_by_branch(world)
    for issue in world.issues:
        branch = branch_name(issue.identifier)
        want = 0 if issue.attention else 1
        if counts.get(branch, 0) != want:
            yield Violation("one_merge", issue.identifier,
                            f"{counts.get(branch, 0)} merges of {branch} on origin main, "
                            f"expected {want}")


def at_most_one_merge(world: World) -> Iterable[Violation]:
    for branch, count in merges_by_branch(world).items():
        if count > 1:
            yield Violation("one_merge", branch, f"{count} merges on origin main")


def unique_comment(world: World) -> Iterable[Violation]:
    for identifier, found in world.blocks.items():
        keys = Counter((str(b.get("kind")), str(b.get("run_id")), str(b.get("round", "")))
                       for b in found)
        for (kind, run_id, round_), count in sorted(keys.items()):
            if count > 1:
                what = f"{kind} comment of {run_id}" + (f" round {round_}" if round_ else "")
                yield Violation("unique_comment", identifier, f"{what} posted {count} times")


def no_orphan_worktree(world: World) -> Iterable[Violation]:
    registered = set()
    for tree in world.worktrees:
        name = Path(tree.path).name
        registered.add(name)
        if not _keeps_lane(world, name):
            yield Violation("no_orphan_worktree", name,
                            f"{tree.path} on {tree.branch or '?'} {' '.join(tree.flags)}".strip())
        elif tree.flags:
            yield Violation("no_orphan_worktree", name, f"kept worktree is {tree.flags}")
    for folder in sorted(world.worktree_folders - registered):
        yield Violation("no_orphan_worktree", folder,
                        f".worktrees/{folder} exists but git does not know it")
    for path in world.origin_worktrees:
        yield Violation("no_orphan_worktree", "origin", f"check worktree {path} left behind")


def no_orphan_branch(world: World) -> Iterable[Violation]:
    kept = {branch_name(i.identifier) for i in world.issues if i.attention}
    for where, branches in (("local", world.local_branches), ("origin", world.origin_branches)):
        for branch in sorted(branches - kept):
            yield Violation("no_orphan_branch", branch, f"still on {where}")


def no_held_lease(world: World) -> Iterable[Violation]:
    for name in sorted(world.held_leases):
        yield Violation("no_held_lease", name, "lane.lock is still held")


def no_retry_entry(world: World) -> Iterable[Violation]:
    for key, value in sorted(world.retries.items()):
        yield Violation("no_retry_entry", key, f"retries.json still holds {value}")


def no_open_pr(world: World) -> Iterable[Violation]:
    for number, (branch, state) in sorted(world.pulls.items()):
        if state == "open":
            yield Violation("no_open_pr", f"#{number}", f"{branch} is still open")


def no_lost_file(world: World) -> Iterable[Violation]:
    for path in sorted(set(world.expected_tree) - set(world.main_tree)):
        yield Violation("no_lost_file", path, "missing from origin main")


def main_as_intended(world: World) -> Iterable[Violation]:
    for path in sorted(set(world.main_tree) - set(world.expected_tree)):
        yield Violation("main_as_intended", path, "on origin main, but no issue adds it")
    for path in sorted(set(world.main_tree) & set(world.expected_tree)):
        if world.main_tree[path] != world.expected_tree[path]:
            yield Violation("main_as_intended", path, "content differs from the intended one: "
                            f"{world.main_tree[path][:120]!r}")


Check = Callable[[World], Iterable[Violation]]

FINAL_CHECKS: tuple[Check, ...] = (
    end_state, one_merge, unique_comment, no_orphan_worktree, no_orphan_branch, no_held_lease,
    no_retry_entry, no_open_pr, no_lost_file, main_as_intended)


def lost_since(before: World, after: World) -> Iterable[Violation]:
    """Files that left origin main between two observations and that no issue deletes."""
    for path in sorted(set(before.main_tree) - set(after.main_tree) - after.deletable):
        yield Violation("no_lost_file", path, "removed from origin main by "
                        f"{after.main_subjects[0] if after.main_subjects else '?'}")


ONGOING_CHECKS: tuple[Check, ...] = (at_most_one_merge, unique_comment)


def check(world: World, checks: Iterable[Check] = FINAL_CHECKS) -> list[Violation]:
    return [violation for run in checks for violation in run(world)]


def deletable_files(issues: Iterable[Chaos]) -> frozenset[str]:
    return frozenset(str(step["run"]).removeprefix("git rm -q ") for issue in issues
                     for step in issue.steps
                     if isinstance(step, dict) and str(step.get("run", "")).startswith("git rm"))
