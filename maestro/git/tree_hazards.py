"""What a commit holds that a checkout of it elsewhere would not reproduce, or that reaches
out of the repository.

Validation runs in the lane's worktree; the forge's CI, a reviewer and every later lane see
a checkout of the commit. Two kinds of entry mean something else there, and commands that
pass in the lane cannot tell (breaker 12, F5 and F11: both were validated, pushed and
merged):

- a **submodule entry** (a gitlink, mode ``160000``) whose path the commit's ``.gitmodules``
  does not declare: the lane had the nested repository on disk, so its code was found; a
  clean checkout gets an empty folder and has no way to fetch what belongs there;
- a **symbolic link** (mode ``120000``) whose target resolves outside the repository (an
  absolute target, or ``..`` climbing above the root, also through other links of the
  commit): in the lane it reads whatever the operator's machine has at that path, and
  validation passed on that; merged, every checkout follows it into the checker's files.

Only what the change brings is judged (gitrevisions(7) ``base...head``: against the merge
base). A repository may hold such entries on purpose, so a gitlink is judged when the change
adds or alters it, and links are judged when the change adds or alters one; an escaping link
the merge base already had, with the same target, is the repository's own and is not named.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from maestro.git.worktree_paths import run_bytes

LINK_MODE = "120000"
GITLINK_MODE = "160000"
#: Links followed while resolving one path (Linux's own limit is 40).
MAX_HOPS = 40


@dataclass(frozen=True)
class Change:
    """One entry of ``git diff --raw`` between the merge base and the head: ``status`` is
    git's letter (``A``, ``M``, ``T``, ``D``), ``mode`` the entry's mode at the head."""

    status: str
    mode: str
    path: str


# -- pure decisions ----------------------------------------------------------------------------


def parse_raw_diff(output: bytes) -> list[Change]:
    """``git diff --raw -z --no-renames`` output as changes (names decoded as
    :func:`os.fsdecode` does). Pure."""
    fields = output.split(b"\0")
    changes = []
    for meta, raw_path in zip(fields[0::2], fields[1::2], strict=False):
        parts = meta.decode(errors="replace").lstrip(":").split()
        if len(parts) < 5:
            continue
        changes.append(Change(parts[4][:1], parts[1], os.fsdecode(raw_path)))
    return changes


def resolves_outside(path: str, links: Mapping[str, str]) -> bool:
    """Whether following the link at ``path`` (relative to the repository root) leaves the
    root, resolving the components as a file system would, other links of ``links`` (path
    → target) included. A loop, or more than :data:`MAX_HOPS` links, does not leave it (it
    resolves to nothing). Pure."""
    resolved: list[str] = []
    pending = path.split("/")
    hops = 0
    while pending:
        part = pending.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            if not resolved:
                return True
            resolved.pop()
            continue
        candidate = "/".join([*resolved, part])
        target = links.get(candidate)
        if target is None:
            resolved.append(part)
            continue
        hops += 1
        if hops > MAX_HOPS:
            return False
        if target.startswith("/"):
            return True
        pending = target.split("/") + pending
    return False


def escaping_links(links: Mapping[str, str]) -> dict[str, str]:
    """The links of ``links`` (path → target) whose target resolves outside the root. Pure."""
    return {path: target for path, target in links.items() if resolves_outside(path, links)}


def undeclared_gitlinks(changes: Iterable[Change], declared: Iterable[str]) -> list[str]:
    """Paths of the gitlinks the change adds or alters that ``declared`` (the submodule
    paths of the head's ``.gitmodules``) does not name. Pure."""
    known = {path.strip("/") for path in declared}
    return sorted(change.path for change in changes
                  if change.mode == GITLINK_MODE and change.status != "D"
                  and change.path not in known)


def new_escapes(head_links: Mapping[str, str], base_links: Mapping[str, str]) -> dict[str, str]:
    """Links of the head that resolve outside the root, except those the merge base had
    with the same target escaping too (the repository's own). Pure."""
    before = escaping_links(base_links)
    return {path: target for path, target in escaping_links(head_links).items()
            if before.get(path) != target}


def describe(gitlinks: Iterable[str], escapes: Mapping[str, str], limit: int = 10) -> list[str]:
    """One sentence per hazard, as the agent and a person read it (at most ``limit`` of
    each kind, the rest counted). Pure."""
    said = []
    gitlinks = list(gitlinks)
    for path in gitlinks[:limit]:
        said.append(f"the submodule entry {path!r} has no `.gitmodules` declaration: a clean "
                    "checkout gets an empty folder there (commit the files themselves, or "
                    "declare the submodule)")
    if len(gitlinks) > limit:
        said.append(f"and {len(gitlinks) - limit} more undeclared submodule entries")
    for path, target in list(escapes.items())[:limit]:
        said.append(f"the symbolic link {path!r} points outside the repository "
                    f"({target!r}): a checkout elsewhere reads other files, or none")
    if len(escapes) > limit:
        said.append(f"and {len(escapes) - limit} more links pointing outside the repository")
    return said


# -- reading git -------------------------------------------------------------------------------


def _links(cwd: Path, commit: str) -> dict[str, str]:
    """Every symbolic link of ``commit``'s tree: path → target."""
    listing = run_bytes(cwd, ["ls-tree", "-r", "-z", "--full-tree", commit])
    entries = []
    for record in listing.split(b"\0"):
        meta, _, raw_path = record.partition(b"\t")
        parts = meta.split()
        if len(parts) == 3 and parts[0].decode() == LINK_MODE:
            entries.append((os.fsdecode(raw_path), parts[2].decode()))
    if not entries:
        return {}
    blobs = run_bytes(cwd, ["cat-file", "--batch"],
                      stdin="".join(f"{sha}\n" for _, sha in entries).encode())
    links = {}
    for path, _ in entries:  # each answer: "<sha> blob <size>\n<content>\n" or "<sha> missing\n"
        header, _, blobs = blobs.partition(b"\n")
        parts = header.split()
        if len(parts) != 3:
            continue
        size = int(parts[2])
        links[path] = os.fsdecode(blobs[:size])
        blobs = blobs[size + 1:]
    return links


def declared_paths(entries: Iterable[tuple[str, str]]) -> set[str]:
    """The submodule paths a ``.gitmodules`` declares the way git reads it (gitmodules(5),
    submodule-config.c), from its ``(key, value)`` entries in file order: per submodule
    name the last ``path`` and ``url`` win; a name with a ``..`` component (or none) is
    ignored, as git ignores a "suspicious submodule name"; a submodule without a url has
    nothing a checkout could fetch. Pure."""
    found: dict[str, dict[str, str]] = {}
    for key, value in entries:
        section, _, rest = key.partition(".")
        name, _, var = rest.rpartition(".")
        if section.lower() != "submodule" or var.lower() not in ("path", "url"):
            continue
        if not name or ".." in name.replace("\\", "/").split("/"):
            continue
        found.setdefault(name, {})[var.lower()] = value
    return {fields["path"].strip("/") for fields in found.values()
            if fields.get("path") and fields.get("url")}


def _declared_submodules(cwd: Path, head: str) -> set[str]:
    """The submodule paths ``head``'s ``.gitmodules`` declares (none without one); read
    from the blob, no include followed (a checkout elsewhere has no file it names)."""
    output = run_bytes(cwd, ["config", "-z", "--no-includes", "--blob", f"{head}:.gitmodules",
                             "--list"], check=False)
    entries = []
    for entry in output.split(b"\0"):
        if entry:
            key, _, value = entry.partition(b"\n")
            entries.append((os.fsdecode(key), os.fsdecode(value)))
    return declared_paths(entries)


def commit_hazards(cwd: Path, base: str, head: str) -> list[str]:
    """The hazards (:func:`describe`'s sentences) ``head`` brings over its merge base with
    ``base``; one git process when the change touches no link or gitlink. Raises
    :class:`~maestro.errors.WorkspaceError` when git cannot compare them."""
    # maestro's git ignores submodules in diffs (gitguard: diff.ignoreSubmodules=all, so no
    # diff looks into a nested repository); between two commits a gitlink is only an entry
    changes = parse_raw_diff(run_bytes(cwd, ["diff", "--raw", "-z", "--no-renames",
                                             "--no-abbrev", "--ignore-submodules=none",
                                             f"{base}...{head}"]))
    gitlinks: list[str] = []
    if any(change.mode == GITLINK_MODE for change in changes):
        gitlinks = undeclared_gitlinks(changes, _declared_submodules(cwd, head))
    escapes: dict[str, str] = {}
    if any(change.mode == LINK_MODE for change in changes):
        links = _links(cwd, head)
        if escaping_links(links):
            merge_base = run_bytes(cwd, ["merge-base", base, head]).decode().strip()
            escapes = new_escapes(links, _links(cwd, merge_base))
    return describe(gitlinks, escapes)
