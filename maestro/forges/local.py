"""The embedded forge: pull requests kept beside a local bare ``origin`` repository.

A PR record is a JSON file in ``<origin>/maestro-forge/pulls/``; reviews are recorded by
``maestro review``; checks are the workflow's validation commands run on the PR head in a
throw-away checkout that registers nothing in ``origin`` (:mod:`.checktree`), behind the
agent's bubblewrap sandbox when it has one (:mod:`.check_sandbox`); merging is a
real git merge made with ``git merge-tree`` and ``git commit-tree`` and published with a
compare-and-swap ``update-ref``, so a base that moved under us is detected rather than
overwritten.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from filelock import FileLock

from maestro.containment.childenv import child_env
from maestro.containment.gitguard import LOCAL_RECEIVE_PACK
from maestro.containment.shell import run_shell
from maestro.errors import ForeignHeadError, ForgeError, WorkspaceError
from maestro.forges import merge_memo
from maestro.forges.check_sandbox import CheckSandbox
from maestro.forges.checktree import check_tree, heal_origin
from maestro.forges.ref_files import read_branch
from maestro.fsutil import read_json, write_json
from maestro.git import (
    auto_maintenance,
    git,
    git_env,
    git_ok,
    head_of,
    local_url_path,
    remove_ref,
    rev_parse,
    rev_parse_many,
)
from maestro.ids import iso_now
from maestro.model import (
    SETUP_CHECK_NAME,
    Check,
    CheckState,
    PullRequest,
    PullState,
    Review,
    ReviewThread,
    ReviewVerdict,
)
from maestro.process import faults

CHECK_OUTPUT_CHARS = 4000

#: ``(repository, commit)`` pairs known to be in the repository (see ``_has_commit``).
_COMMITS_HERE: set[tuple[str, str]] = set()

#: A branch name given alone to ``git fetch`` (no refspec syntax, no option, no ref path).
_PLAIN_BRANCH = re.compile(r"(?!-)(?!refs/)[A-Za-z0-9._/-]+")


def origin_path(repo_root: Path, remote: str) -> Path:
    """The local path of ``remote``; the local forge needs one it can open."""
    try:
        url = git(repo_root, "remote", "get-url", remote)
    except WorkspaceError:
        raise ForgeError(
            f"{repo_root}: git remote {remote!r} is not configured; the local forge needs a "
            "bare repository as that remote (see `maestro init`)"
        ) from None
    path = local_url_path(repo_root, url)
    if path is None or not path.is_dir():
        raise ForgeError(
            f"git remote {remote!r} is {url!r}, which is not a local folder; the local forge "
            "works with a bare repository on this machine (use provider = 'github' otherwise)"
        )
    return path


class LocalForge:
    name = "local"

    def __init__(self, repo_root: Path, remote: str, validation_commands: Sequence[str] = (),
                 check_timeout_s: float = 900.0, env_passthrough: Sequence[str] = (),
                 sandbox: CheckSandbox | None = None, setup_script: str | None = None,
                 setup_timeout_s: float = 60.0) -> None:
        self.repo_root = repo_root
        #: Where the checks run the PR's code: behind bubblewrap when the agent is
        #: (:mod:`.check_sandbox`), else unconfined.
        self.sandbox = sandbox
        self.env_passthrough = list(env_passthrough)
        self.remote = remote
        self.origin = origin_path(repo_root, remote)
        self.folder = self.origin / "maestro-forge"
        self.validation_commands = list(validation_commands)
        self.check_timeout_s = check_timeout_s
        #: The workflow's ``after_create`` hook: a check's checkout is a new workspace too,
        #: and validation commands may need what the hook installs (``.venv``,
        #: ``node_modules``: ignored, so not in the commit).
        self.setup_script = setup_script
        self.setup_timeout_s = setup_timeout_s
        self._lock = FileLock(str(self.folder / ".lock"), timeout=60)

    # -- records ---------------------------------------------------------------------------

    def _record_path(self, number: int) -> Path:
        return self.folder / "pulls" / f"{number}.json"

    def _load(self, number: int) -> PullRequest | None:
        data = read_json(self._record_path(number))
        return None if data is None else PullRequest.model_validate(data)

    def _save(self, pr: PullRequest) -> None:
        write_json(self._record_path(pr.number), pr.model_dump(mode="json"))

    def _all(self) -> list[PullRequest]:
        folder = self.folder / "pulls"
        if not folder.is_dir():
            return []
        numbers = sorted(int(p.stem) for p in folder.glob("*.json") if p.stem.isdigit())
        return [pr for n in numbers if (pr := self._load(n)) is not None]

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.folder.mkdir(parents=True, exist_ok=True)
        with self._lock:
            yield

    def url(self, number: int) -> str:
        return f"local://{self.remote}/pulls/{number}"

    # -- git -------------------------------------------------------------------------------

    def branch_head(self, branch: str) -> str | None:
        return rev_parse(self.origin, f"refs/heads/{branch}")

    def fetch(self, *refspecs: str) -> bool:
        if len(refspecs) == 1 and self._tracking_is_current(refspecs[0]):
            return True
        return git_ok(self.repo_root, "fetch", "--quiet", self.remote, *refspecs)

    def _tracking_is_current(self, refspec: str) -> bool:
        """Whether fetching the plain branch name ``refspec`` would change nothing a caller
        reads: ``refs/remotes/<remote>/<branch>`` already names ``origin``'s branch head.

        Both refs are read from their files (:mod:`.ref_files`), without a process, where
        a fetch is four (``fetch``, the ``sh`` that starts ``upload-pack``, ``upload-pack``
        and the connectivity ``rev-list``); a lane fetches its base five or six times.
        Only for a plain branch name and a repository whose ``.git`` is a folder, and when
        the commit is in the repository; a differing or unreadable ref, or anything else,
        is fetched as before (and the fetch's ``FETCH_HEAD`` is read by no caller)."""
        dotgit = self.repo_root / ".git"
        if not _PLAIN_BRANCH.fullmatch(refspec) or dotgit.is_symlink() or not dotgit.is_dir():
            return False
        theirs = read_branch(self.origin, f"refs/heads/{refspec}")
        # The commit must be here too: a ref file can name a commit whose objects a fetch
        # would still bring (one git process, against a fetch's four).
        return (theirs is not None
                and theirs == read_branch(dotgit, f"refs/remotes/{self.remote}/{refspec}")
                and self._has_commit(theirs))

    def _has_commit(self, commit: str) -> bool:
        """Whether ``commit`` is in the repository; a yes is kept for the process (a commit
        a ref names is not pruned), a no is asked again."""
        key = (str(self.repo_root), commit)
        if key not in _COMMITS_HERE:
            if rev_parse(self.repo_root, commit) != commit:
                return False
            _COMMITS_HERE.add(key)
        return True

    def push(self, worktree: Path, branch: str, head: str | None = None,
             replaceable: Collection[str] = ()) -> str:
        head = head or head_of(worktree)
        theirs = self.branch_head(branch)
        if theirs != head:
            if theirs is not None and theirs not in replaceable and not git_ok(
                    self.repo_root, "merge-base", "--is-ancestor", theirs, head):
                raise ForeignHeadError(
                    f"{self.remote}'s {branch} is at {theirs[:12]}, which maestro did not push "
                    f"and {head[:12]} does not contain; pushing would drop it", theirs)
            heal_origin(self.origin)  # a stale check worktree would make origin refuse it
            try:
                # From the repository root, where git resolves a relative remote URL
                # (``../origin.git``); the worktree shares its objects, so HEAD's commit
                # is pushed by name. The lease: only over the head just judged.
                git(self.repo_root, "push", "--quiet",
                    f"--force-with-lease=refs/heads/{branch}:{theirs or ''}",
                    f"--receive-pack={LOCAL_RECEIVE_PACK}", self.remote,
                    f"{head}:refs/heads/{branch}")
            except WorkspaceError as exc:
                raise ForgeError(f"push of {branch} to {self.remote} was rejected: {exc}") from None
        return head

    # -- pull requests ---------------------------------------------------------------------

    def find_pr(self, branch: str) -> PullRequest | None:
        matches = [pr for pr in self._all() if pr.branch == branch]
        return matches[-1] if matches else None

    def open_prs(self, prefix: str) -> list[PullRequest]:
        return sorted((pr for pr in self._all() if pr.state == PullState.OPEN
                       and pr.branch.startswith(prefix)), key=lambda pr: -pr.number)

    def open_pr(self, branch: str, base: str, title: str, body: str) -> PullRequest:
        head = self.branch_head(branch)
        if head is None:
            raise ForgeError(f"branch {branch!r} is not on {self.remote}; push it first")
        with self._locked():
            existing = [p for p in self._all() if p.branch == branch and p.state == PullState.OPEN]
            if existing:
                pr = existing[-1].model_copy(update={"head": head, "title": title or
                                                     existing[-1].title, "body": body or
                                                     existing[-1].body})
            else:
                number = max((p.number for p in self._all()), default=0) + 1
                pr = PullRequest(number=number, url=self.url(number), branch=branch, base=base,
                                 head=head, title=title, body=body,
                                 extra={"created_at": iso_now()})
            self._save(pr)
        return pr

    def get(self, number: int) -> PullRequest:
        pr = self._load(number)
        if pr is None:
            raise ForgeError(f"pull request #{number} does not exist on the local forge")
        return pr

    def refresh(self, numbers: Sequence[int]) -> dict[int, PullRequest]:
        result = {n: pr for n in numbers if (pr := self._load(n)) is not None}
        opened = [n for n, pr in result.items() if pr.state == PullState.OPEN]
        # Every open PR's head and base in ONE git process; the bases once more after a
        # check ran the commands (they take time, and run the PR's code), else nothing but
        # maestro's own reads ran since. Read now, never remembered.
        bases = heads = self._heads([*(result[n].branch for n in opened),
                                     *(result[n].base for n in opened)])
        ran = False
        for number in opened:
            pr = result[number]
            pr = pr.model_copy(update={"head": heads.get(pr.branch) or pr.head})
            pr = self._with_outdated_threads(pr)
            result[number], checked = self._with_checks(pr)
            ran = ran or checked
        if ran:
            bases = self._heads(result[n].base for n in opened)
        for number in opened:
            result[number] = self._with_mergeability(result[number], bases.get(result[number].base))
        return result

    def _heads(self, branches: Iterable[str]) -> dict[str, str | None]:
        """``branch -> commit on origin`` (None when absent) for ``branches``, in one call."""
        wanted = list(dict.fromkeys(branches))
        if not wanted:
            return {}
        found = rev_parse_many(self.origin, [f"refs/heads/{b}" for b in wanted])
        return {b: found[f"refs/heads/{b}"] for b in wanted}

    def _with_outdated_threads(self, pr: PullRequest) -> PullRequest:
        """A thread is outdated, like on GitHub, once the head changed its file since the
        commit it was written on (file granularity: the local forge keeps no diff hunks)."""
        threads = []
        for thread in pr.threads:
            if thread.is_open and thread.path and thread.commit and thread.commit != pr.head:
                changed = subprocess.run(
                    ["git", "diff", "--quiet", thread.commit, pr.head, "--", thread.path],
                    cwd=self.origin, capture_output=True, env=git_env(self.origin), check=False)
                thread = thread.model_copy(update={"outdated": changed.returncode == 1})
            threads.append(thread)
        return pr.model_copy(update={"threads": threads})

    def _with_mergeability(self, pr: PullRequest, base: str | None) -> PullRequest:
        """``base``: the commit of ``pr.base`` on origin, read by the caller just now."""
        if base is None:
            return pr.model_copy(update={"mergeable": False, "conflict": f"base {pr.base} missing"})
        answer = merge_memo.recall(self.origin, base, pr.head)
        if answer is None:
            inputs = merge_memo.snapshot(self.origin)
            proc = subprocess.run(
                ["git", "merge-tree", "--write-tree", "--name-only", "--no-messages", base,
                 pr.head], cwd=self.origin, capture_output=True, text=True,
                errors="replace", env=git_env(self.origin), check=False,
            )
            files = [line for line in proc.stdout.splitlines()[1:] if line.strip()]
            answer = (True, "") if proc.returncode == 0 else (
                False, "merge conflict with " + pr.base + " in: " + ", ".join(files or ["?"]))
            if proc.returncode in (0, 1):  # clean or conflicted; a git error is asked again
                merge_memo.keep(self.origin, base, pr.head, answer, inputs)
        return pr.model_copy(update={"mergeable": answer[0], "conflict": answer[1]})

    def _with_checks(self, pr: PullRequest) -> tuple[PullRequest, bool]:
        """Run the validation commands once per head (like CI on push), in a clean checkout
        of the head, and keep the result; also whether the commands ran now (not kept).
        The lane's own run never stands for it: the lane's worktree can differ from a
        checkout of its commit in ways no look at it proves absent (an index entry forged to
        hide a change, attributes that change the checked-out bytes, an empty folder, a
        file the agent's process swaps in only while the commands run)."""
        if not self.validation_commands:
            return pr.model_copy(update={"checks": []}), False
        runs = dict(pr.extra.get("check_runs") or {})
        ran = pr.head not in runs
        if ran:
            runs[pr.head] = self._run_checks(pr.head)
        if ran and not _setup_failed(runs[pr.head]):  # a failed setup runs again next time
            with self._locked():
                current = self._load(pr.number) or pr
                extra = {**current.extra, "check_runs": {pr.head: runs[pr.head]}}
                self._save(current.model_copy(update={"extra": extra}))
        checks = [Check.model_validate(c) for c in runs[pr.head]]
        return pr.model_copy(update={"checks": checks}), ran

    def _run_checks(self, head: str) -> list[dict[str, Any]]:
        heal_origin(self.origin)
        with check_tree(self.origin, head) as checkout:
            prefix = self.sandbox.prefix(checkout) if self.sandbox is not None else []
            if self.setup_script is not None:
                code, timed_out, output = run_shell(
                    self.setup_script, checkout, self.setup_timeout_s,
                    {**_check_env(self.env_passthrough), "MAESTRO_HOOK": "after_create"},
                    prefix, keep=CHECK_OUTPUT_CHARS)
                if code != 0 or timed_out:
                    what = (f"timed out after {self.setup_timeout_s}s" if timed_out
                            else f"exited {code}")
                    return [{"name": SETUP_CHECK_NAME,
                             "state": CheckState.FAILURE.value,
                             "summary": f"after_create {what}: {output}", "required": True}]
            results = []
            for index, command in enumerate(self.validation_commands, start=1):
                # Supervised: nothing the PR's code starts outlives its check (reaper.py).
                code, timed_out, output = run_shell(command, checkout, self.check_timeout_s,
                                                    _check_env(self.env_passthrough),
                                                    prefix, keep=CHECK_OUTPUT_CHARS)
                state = CheckState.SUCCESS if code == 0 else CheckState.FAILURE
                if timed_out:
                    output = f"timed out after {self.check_timeout_s}s"
                results.append({"name": f"check {index}: {command}", "state": state.value,
                                "summary": output, "required": True})
            return results

    # -- reviews ---------------------------------------------------------------------------

    def add_review(self, number: int, verdict: ReviewVerdict, body: str = "",
                   author: str | None = None, path: str = "", line: int | None = None) -> Review:
        with self._locked():
            pr = self.get(number)
            if pr.state != PullState.OPEN:
                raise ForgeError(f"pull request #{number} is {pr.state.value}; cannot review it")
            head = self.branch_head(pr.branch) or pr.head
            review = Review(author=author or os.environ.get("USER", "reviewer"), verdict=verdict,
                            body=body, commit=head, submitted_at=None)
            threads = list(pr.threads)
            if path:
                threads.append(ReviewThread(path=path, line=line, body=body, commit=head))
            self._save(pr.model_copy(update={"reviews": [*pr.reviews, review],
                                             "threads": threads}))
        return review

    def failing_check_logs(self, pr: PullRequest) -> dict[str, str]:
        """Nothing to add: a local check's summary is already its output's tail."""
        return {}

    def resolve_threads(self, number: int) -> None:
        with self._locked():
            pr = self.get(number)
            threads = [t.model_copy(update={"resolved": True}) for t in pr.threads]
            self._save(pr.model_copy(update={"threads": threads}))

    def close_pr(self, number: int, comment: str = "") -> None:
        """The comment is kept in the record's ``extra.comments`` (the local PR's thread)."""
        with self._locked():
            pr = self.get(number)
            if pr.state == PullState.OPEN:
                # As GitHub keeps refs/pull/<N>/head: the closed PR's commits stay reachable
                # when its branch is later replaced (a retry after a cancel starts over).
                head = self.branch_head(pr.branch) or pr.head
                if head:
                    git(self.origin, "update-ref", f"refs/pull/{number}/head", head)
                extra = dict(pr.extra)
                if comment:
                    extra["comments"] = [*extra.get("comments", []),
                                         {"body": comment, "at": iso_now()}]
                self._save(pr.model_copy(update={"state": PullState.CLOSED, "extra": extra}))

    # -- merging ---------------------------------------------------------------------------

    def merge(self, number: int, expected_head: str, method: str) -> str:
        if method not in ("merge", "squash"):
            raise ForgeError(f"the local forge merges with 'merge' or 'squash', not {method!r}")
        with self._locked():
            pr = self.get(number)
            if pr.state == PullState.MERGED:
                return pr.merge_commit
            if pr.state != PullState.OPEN:
                raise ForgeError(f"pull request #{number} is {pr.state.value}; cannot merge it")
            # Head and base read afresh under the lock, in one process (one moment).
            found = self._heads([pr.branch, pr.base])
            head, base = found[pr.branch], found[pr.base]
            if head != expected_head:
                raise ForgeError(
                    f"pull request #{number}: head is {head}, expected {expected_head}; "
                    "refusing to merge a head that was not validated"
                )
            if base is None:
                raise ForgeError(f"base branch {pr.base!r} does not exist on {self.remote}")
            commit = self._earlier_merge(pr, head, base)
            if commit:
                # This PR's merge is already on the base: a run killed after ``update-ref``
                # and before the record was saved. Merging again would merge twice.
                self._save(pr.model_copy(update={
                    "state": PullState.MERGED, "merge_commit": commit, "head": head,
                    "extra": {**pr.extra, "merged_at": iso_now(), "merge_method": method}}))
                return commit
            proc = subprocess.run(
                ["git", "merge-tree", "--write-tree", "--no-messages", base, head],
                cwd=self.origin, capture_output=True, text=True,
                errors="replace", env=git_env(self.origin),
                check=False)
            if proc.returncode != 0:
                raise ForgeError(f"pull request #{number} conflicts with {pr.base}")
            tree = proc.stdout.split()[0]
            if method == "merge":
                message = f"Merge pull request #{number} from {pr.branch}\n\n{pr.title}\n"
                parents = ["-p", base, "-p", head]
            else:
                message = f"{pr.title} (#{number})\n\n{pr.body}\n"
                parents = ["-p", base]
            commit = git(self.origin, "commit-tree", tree, *parents, "-m", message)
            git(self.origin, "update-ref", f"refs/heads/{pr.base}", commit, base)
            faults.point("land:merged")  # the base moved, the PR record does not say so yet
            self._save(pr.model_copy(update={
                "state": PullState.MERGED, "merge_commit": commit, "head": head,
                "extra": {**pr.extra, "merged_at": iso_now(), "merge_method": method}}))
            # A merge writes objects no push's receive-pack ever counts, so a long-lived
            # origin is packed here (a no-op until git's thresholds are reached).
            auto_maintenance(self.origin, gc=True)
            return commit

    def _earlier_merge(self, pr: PullRequest, head: str, base: str) -> str:
        """The commit on ``base`` that already merged ``pr`` at ``head``, or ``""``.

        Recognised by the message this forge writes and by content: a merge commit whose
        second parent is ``head``, or a squash commit whose tree is ``head`` merged onto its
        parent; so an older commit that merely looks alike is never taken for it."""
        log = git(self.origin, "log", "--first-parent", "--max-count=500", "--format=%H %s",
                  base)
        for line in log.splitlines():
            commit, _, subject = line.partition(" ")
            if subject == f"Merge pull request #{pr.number} from {pr.branch}":
                if rev_parse(self.origin, f"{commit}^2") == head:
                    return commit
            elif subject == f"{pr.title} (#{pr.number})":
                parent = rev_parse(self.origin, f"{commit}^1")
                proc = subprocess.run(
                    ["git", "merge-tree", "--write-tree", "--no-messages", str(parent), head],
                    cwd=self.origin, capture_output=True, text=True,
                    errors="replace", env=git_env(self.origin),
                    check=False)
                tree = proc.stdout.split()[0] if proc.returncode == 0 and proc.stdout else ""
                if tree and tree == git(self.origin, "rev-parse", f"{commit}^{{tree}}"):
                    return commit
        return ""

    def delete_branch(self, branch: str) -> None:
        """Delete ``branch`` on origin; an absent branch is fine (:func:`remove_ref`)."""
        ref = f"refs/heads/{branch}"
        remove_ref(self.origin, ref, "update-ref", "-d", ref)

    def close(self) -> None:
        return None


def _setup_failed(results: list[dict[str, Any]]) -> bool:
    """Whether a check run failed at setting up its checkout: its result is not kept, so
    the next refresh runs it again once a person fixed the hook (or a flaky install
    passes)."""
    return any(r.get("name") == SETUP_CHECK_NAME for r in results)


def _check_env(passthrough: Sequence[str] = ()) -> dict[str, str]:
    """Checks run the PR's code: the allow list of :mod:`maestro.containment.childenv`, without the
    lane's ``MAESTRO_*`` variables (a check belongs to no lane)."""
    env = child_env(passthrough)
    return {k: v for k, v in env.items() if not k.startswith("MAESTRO_")}
