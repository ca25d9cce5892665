"""Which commits of the lane branch did a session of this lane make on purpose?

Every agent or repair session is recorded in the lane folder's ``sessions.json`` (one JSON
object ``{"sessions": [...]}`` like every lane file, rewritten atomically) with the
``HEAD`` it started from and the ``HEAD`` it ended at:

    {"session": 3, "phase": "repair", "run_id": "run-….repair1", "start_head": "…",
     "end_head": "…" | null, "missing_at_start": ["path", …], "started_at": …, "ended_at": …}

``end_head`` is null while the session runs; a session killed before it ended is closed by
the next one with the ``HEAD`` it finds (the lane lock lets no one else move it meanwhile).
When a session ends (or is closed), the commits it made are frozen in its record as
``"made": ["sha", …]``: those of ``start_head..end_head`` that no other branch, remote
branch or tag reaches at that moment (:func:`made_in`). A session that only moved the lane
branch onto commits someone else made (``git reset --hard maestro/other-lane``, a person's
never-pushed local branch) made none of them, so they are foreign; judged by the range
alone, they passed as its own and were pushed and merged under its name. Commits reachable
from no ref (a deleted branch's) still count as the session's.
Two more kinds of record trust a head without a session range (``start_head`` null):
``adopted`` (a fresh runner takes the lane branch from the remote, where only maestro
pushes lane branches) and ``published`` (a lane rebuilt from the tracker trusts the head its
completion or repair comment names as validated).

Before a head leaves the machine for review (handoff, ``lane_open_pr``, a repair push) or is
merged (land), :func:`judge` compares the lane branch with these records:

- a commit between the base and the head that no session range holds is *foreign* — unless
  it is reachable from the base branch (a repair that merged the base brings base commits);
- a file of the merge base that the head lost, and that no session deleted, is *lost*; a
  session's deletion of a file that was already missing when it started (a checkout that
  never finished) was not made on purpose and does not count.

Either stops the lane for a human with a comment naming the commits and the files. Archived
lane folders (``maestro lane --reset``, a person releasing the lane) still count: their
sessions made the commits the branch keeps. A lane with no record at all (started before
this file existed) is not judged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from maestro.git import rev_parse, rev_parse_many, run_git
from maestro.git.memo import git_fixed
from maestro.ids import iso_now
from maestro.lanes.context import LaneContext
from maestro.lanes.outcomes import require_human
from maestro.lanes.record import archive

RECORDS = "sessions.json"
VERDICT = "provenance.json"
#: How many commits and files a refusal names.
NAME_LIMIT = 10


# -- the decision -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Commit:
    sha: str
    subject: str = ""


@dataclass(frozen=True)
class SessionSpan:
    """One record, resolved against git: the commits its range holds and what it deleted."""

    label: str
    commits: frozenset[str] = frozenset()
    deleted: frozenset[str] = frozenset()
    missing_at_start: frozenset[str] = frozenset()


@dataclass(frozen=True)
class LaneFacts:
    """The lane branch against its base: ``commits`` are ``base..head`` (oldest first),
    ``deleted`` the paths of the merge base that ``head`` no longer has."""

    head: str
    commits: tuple[Commit, ...] = ()
    deleted: frozenset[str] = frozenset()
    sessions: tuple[SessionSpan, ...] = ()
    #: Whether any record exists; a lane without records predates them and is not judged.
    recorded: bool = True


@dataclass(frozen=True)
class Verdict:
    foreign: tuple[Commit, ...] = ()
    lost: tuple[str, ...] = ()
    judged: bool = True

    @property
    def ok(self) -> bool:
        return not self.foreign and not self.lost

    @property
    def error_class(self) -> str:
        return "foreign_commits" if self.foreign else "lost_files"

    def reason(self, head: str) -> str:
        parts = []
        if self.foreign:
            named = ", ".join(f"{c.sha[:12]} {c.subject!r}" for c in self.foreign[:NAME_LIMIT])
            more = f" and {len(self.foreign) - NAME_LIMIT} more" if len(
                self.foreign) > NAME_LIMIT else ""
            parts.append(f"the lane branch at {head[:12]} holds {len(self.foreign)} commit(s) "
                         f"no session of this lane made: {named}{more}")
        if self.lost:
            named = ", ".join(self.lost[:NAME_LIMIT])
            more = f" and {len(self.lost) - NAME_LIMIT} more" if len(
                self.lost) > NAME_LIMIT else ""
            parts.append(f"its tree lost {len(self.lost)} file(s) no session deleted: "
                         f"{named}{more}")
        return "; ".join(parts)


def judge(facts: LaneFacts) -> Verdict:
    """Foreign commits and lost files of a lane branch (pure; see the module docstring)."""
    if not facts.recorded:
        return Verdict(judged=False)
    made: set[str] = set()
    deleted_on_purpose: set[str] = set()
    for span in facts.sessions:
        made |= span.commits
        deleted_on_purpose |= span.deleted - span.missing_at_start
    foreign = tuple(c for c in facts.commits if c.sha not in made)
    lost = tuple(sorted(facts.deleted - deleted_on_purpose))
    return Verdict(foreign=foreign, lost=lost)


# -- records ----------------------------------------------------------------------------------


def _records_of(path: Path) -> list[dict[str, Any]]:
    from maestro.fsutil import read_json

    try:
        data = read_json(path)
    except (ValueError, OSError):
        return []
    records = data.get("sessions") if isinstance(data, dict) else None
    return [r for r in records if isinstance(r, dict)] if isinstance(records, list) else []


def _write(ctx: LaneContext, records: list[dict[str, Any]]) -> None:
    ctx.state.write(RECORDS, {"sessions": records})


def all_records(ctx: LaneContext) -> list[dict[str, Any]]:
    """This lane's records, archived lane folders first (oldest run first), then current."""
    older: list[dict[str, Any]] = []
    for folder in archive.lane_folders(ctx.config.state_root, ctx.identifier):
        older += _records_of(folder / RECORDS)
    return older + own_records(ctx)


def own_records(ctx: LaneContext) -> list[dict[str, Any]]:
    """This lane folder's records alone (no archived run's)."""
    return _records_of(ctx.state.path(RECORDS))


def _append(ctx: LaneContext, record: dict[str, Any]) -> None:
    records = _records_of(ctx.state.path(RECORDS))
    record = {"session": len(records) + 1, **record}
    _write(ctx, [*records, record])


def own_work(repo: Path, start: str, end: str, branch: str, remote: str) -> list[str] | None:
    """The commits of ``start..end`` that no branch, remote branch or tag reaches now but
    the lane's own ``branch`` (and its copy on ``remote``): the session's own work, see the
    module docstring; None when git cannot say (an unknown commit)."""
    proc = run_git(repo, ["rev-list", end, "--not", start, f"--exclude={branch}",
                          "--branches", f"--exclude={remote}/{branch}", "--remotes", "--tags"])
    return proc.stdout.split() if proc.returncode == 0 else None


def made_in(ctx: LaneContext, start: str | None, end: str | None) -> list[str] | None:
    """:func:`own_work` of this lane, to freeze in a record that ends; None without a range
    or when git cannot say (the record keeps its range)."""
    if not start or not end:
        return None
    return own_work(ctx.config.repo_root, start, end, ctx.branch,
                    ctx.workflow.policy.forge.remote)


def _close(ctx: LaneContext, record: dict[str, Any], head: str | None,
           **fields: Any) -> None:
    """End ``record`` at ``head``, with the commits it made frozen (``made``)."""
    record.update({"end_head": head, "ended_at": iso_now(), **fields})
    made = made_in(ctx, record.get("start_head"), head)
    if made is not None:
        record["made"] = made


def _close_open(ctx: LaneContext, records: list[dict[str, Any]], head: str | None) -> bool:
    changed = False
    for record in records:
        if record.get("end_head") is None and record.get("start_head") is not None:
            _close(ctx, record, head, closed_by="the next session (this one was killed)")
            changed = True
    return changed


def begin_session(ctx: LaneContext, phase: str, run_id: str, head: str | None,
                  missing: Sequence[str] = ()) -> None:
    """Record a session starting at ``head``; a killed session's open record is closed
    with the same ``head`` first (what it committed before it died is its work)."""
    records = _records_of(ctx.state.path(RECORDS))
    _close_open(ctx, records, head)
    records.append({"session": len(records) + 1, "phase": phase, "run_id": run_id,
                    "start_head": head, "end_head": None, "missing_at_start": list(missing),
                    "started_at": iso_now()})
    _write(ctx, records)


def end_session(ctx: LaneContext, head: str | None) -> None:
    records = _records_of(ctx.state.path(RECORDS))
    if records and records[-1].get("end_head") is None:
        _close(ctx, records[-1], head)
        _write(ctx, records)


def trust_head(ctx: LaneContext, kind: str, head: str, source: str) -> None:
    """Trust every commit up to ``head`` (``adopted`` or ``published``, see the module
    docstring); a head already trusted this way is not recorded twice."""
    for record in all_records(ctx):
        if record.get("phase") == kind and record.get("end_head") == head:
            return
    _append(ctx, {"phase": kind, "run_id": "", "start_head": None, "end_head": head,
                  "source": source, "started_at": iso_now(), "ended_at": iso_now()})


def trust_published_head(ctx: LaneContext, blocks: Sequence[dict[str, Any]], run_id: str,
                         completion_head: str) -> None:
    """A lane rebuilt from the tracker (a fresh runner) trusts the newest head maestro's own
    comments name as validated: the repair rounds' of this run, else the completion's.
    Anything beyond it on the lane branch was not published by maestro and is foreign."""
    repairs = [b for b in blocks if b.get("kind") == "repair" and b.get("validated_head")
               and str(b.get("run_id", "")).startswith(f"{run_id}.repair")]
    head = str(repairs[-1]["validated_head"]) if repairs else completion_head
    trust_head(ctx, "published", head, "maestro's completion or repair comment")


def has_records(ctx: LaneContext) -> bool:
    return bool(all_records(ctx))


def accept_on_release(ctx: LaneContext) -> None:
    """A person who removes the label after a refusal accepts the branch as they left it:
    the refused head is trusted from now on (commits they removed simply are not there)."""
    attention = ctx.state.read("attention.json") or {}
    verdict = ctx.state.read(VERDICT) or {}
    if attention.get("error_class") in ("foreign_commits", "lost_files") and verdict.get("head"):
        trust_head(ctx, "accepted", str(verdict["head"]), "a person released the lane after "
                   "the refusal")


# -- gathering --------------------------------------------------------------------------------


def base_commit(ctx: LaneContext) -> str | None:
    """The base branch as the remote has it (fetched now when possible), else the local one."""
    return base_and(ctx)[0]


def base_and(ctx: LaneContext, *also: str) -> tuple[str | None, dict[str, str | None]]:
    """:func:`base_commit`, and the commit each of ``also`` names (None where it names
    none), asked in the same git process after the fetch."""
    forge = ctx.workflow.policy.forge
    repo = ctx.config.repo_root
    ctx.forge.fetch(forge.base_branch)
    remote = f"refs/remotes/{forge.remote}/{forge.base_branch}"
    found = rev_parse_many(repo, [remote, forge.base_branch, *also])
    return found[remote] or found[forge.base_branch], {name: found[name] for name in also}


def _lines(repo: Path, *args: str) -> list[str]:
    """git's output lines; asked of git once per process for hashes (:mod:`maestro.git.memo`)."""
    return [line for line in git_fixed(repo, *args).split("\0" if "-z" in args else "\n")
            if line]


def _deleted(repo: Path, old: str, new: str) -> frozenset[str]:
    return frozenset(_lines(repo, "diff", "--name-only", "--no-renames", "--diff-filter=D",
                            "-z", old, new))


def _ends(record: dict[str, Any], head: str) -> tuple[Any, Any]:
    """A record's ``(start, end)`` commits as recorded (an open record ends at ``head``)."""
    end = record.get("end_head") or (head if record.get("start_head") else None)
    return record.get("start_head"), end


def _span(repo: Path, record: dict[str, Any], head: str, base: str,
          known: Mapping[str, str | None], lane: tuple[str, str] | None = None
          ) -> SessionSpan:
    """``known`` maps the records' start and end names to their commits (asked in one
    batch by :func:`gather`); ``lane``, ``(branch, remote)``: a running session's commits
    are its own work as of now (:func:`own_work`), as its record will say when it ends."""
    label = f"{record.get('phase')} {record.get('run_id') or record.get('source', '')}".strip()
    start, end = _ends(record, head)
    if not end or known.get(str(end)) is None:
        return SessionSpan(label)
    missing = frozenset(str(p) for p in record.get("missing_at_start") or ())
    made = record.get("made")
    if start and known.get(str(start)) is not None:
        running = lane is not None and record.get("end_head") is None
        mine = own_work(repo, str(start), str(end), *lane) if running and lane else None
        commits = ([str(sha) for sha in made] if isinstance(made, list)  # frozen at its end
                   else mine if mine is not None
                   else _lines(repo, "rev-list", str(end), "--not", str(start)))
        old = str(start)
    else:
        commits = _lines(repo, "rev-list", str(end), "--not", base)
        old = git_fixed(repo, "merge-base", base, str(end), check=False) or base
    return SessionSpan(label, frozenset(commits), _deleted(repo, old, str(end)), missing)


def record_names(records: Sequence[dict[str, Any]], head: str) -> list[str]:
    """The start and end commits the records name (an open record ends at ``head``)."""
    return [str(n) for r in records for n in _ends(r, head) if n]


def gather(repo: Path, head: str, base: str, records: Sequence[dict[str, Any]],
           known: Mapping[str, str | None] | None = None,
           lane: tuple[str, str] | None = None) -> LaneFacts:
    """Read what :func:`judge` needs from git (an open record's range ends at ``head``).
    ``known``: the commit each of :func:`record_names` names, when the caller has just
    asked (None: asked here); ``lane``: ``(branch, remote)``, see :func:`_span`."""
    log = _lines(repo, "log", "--reverse", "--format=%H %s", head, "--not", base)
    commits = tuple(Commit(*line.split(" ", 1)) if " " in line else Commit(line)
                    for line in log)
    merge_base = git_fixed(repo, "merge-base", base, head, check=False) or base
    if known is None:
        names = record_names(records, head)
        known = rev_parse_many(repo, names) if names else {}
    return LaneFacts(head=head, commits=commits, deleted=_deleted(repo, merge_base, head),
                     sessions=tuple(_span(repo, r, head, base, known, lane)
                                    for r in records),
                     recorded=bool(records))


def examine(ctx: LaneContext, head: str) -> Verdict:
    """Judge ``head`` of the lane branch against this lane's records."""
    repo = ctx.config.repo_root
    records = all_records(ctx)
    if not records:
        return Verdict(judged=False)
    # The records' commits are asked in the base's batch: nothing but git reads of hashes
    # runs before gather uses them, unless the fetch below runs (then gather asks again).
    base, known = base_and(ctx, head, *record_names(records, head))
    if base is None:
        return Verdict(judged=False)
    found: Mapping[str, str | None] | None = known
    if known[head] is None:
        forge = ctx.workflow.policy.forge
        ctx.forge.fetch(f"+refs/heads/{ctx.branch}:refs/remotes/{forge.remote}/{ctx.branch}")
        if rev_parse(repo, head) is None:  # asked again only when the fetch may have brought it
            return Verdict(foreign=(Commit(head, "(not available on this machine)"),))
        found = None
    lane = (ctx.branch, ctx.workflow.policy.forge.remote)
    return judge(gather(repo, head, base, records, found, lane))


def refuse_unless_made_by_sessions(ctx: LaneContext, head: str, where: str) -> None:
    """The guard of handoff, ``lane_open_pr``, repair pushes and land: a lane branch with
    foreign commits or lost files goes the attention way (raises ``Halt``)."""
    verdict = examine(ctx, head)
    if not verdict.judged:
        ctx.state.journal("provenance_unknown", head=head, where=where)
        return
    if verdict.ok:
        return
    reason = verdict.reason(head)
    ctx.state.write(VERDICT, {"head": head, "where": where, "at": iso_now(),
                              "foreign": [c.sha for c in verdict.foreign],
                              "lost": list(verdict.lost)})
    require_human(ctx, verdict.error_class, f"{where} refused: {reason}",
                  next_action="a person inspects the named commits and files; remove them "
                              "from the lane branch (or restore the files), then remove the "
                              "label")
