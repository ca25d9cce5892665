"""A finished lane's no-op run, answered from a stamp instead of the whole lane machinery.

Every poll, CI job or person re-running a finished lane (``doit lane:ID``, ``maestro lane
ID``) used to validate ``maestro.toml`` with pydantic, compile ``pipelines/lane.yaml``,
parse the lane's workflow snapshot with the Liquid engine (:mod:`maestro.lanes.record.damage`)
and read every lane file, only to find every phase done: 3-4x doit's own start-up.

When that full run finds a lane finished (every phase up to the last is done, nothing was
set aside), it records a *stamp* under ``<state_root>/cache/finished/<ID>.json``: the stat
signatures (size, mtime_ns, inode, ctime_ns) of everything it relied on — the config file,
the pipeline file, the modules holding the pipeline schema and the damage rules, and every
file of the lane folder that :func:`~maestro.lanes.record.damage.damaged_files` or a phase's
``done_when`` reads — plus the folders the config resolved to and the compiled phases. A
later run whose every signature, folder and lane file name is unchanged takes the stamp's
word; any difference (an edited, touched, added, removed or renamed file; a lane reset or
claimed again; a corrupt marker; an upgraded maestro) falls back to the full run, which
repairs or re-records. ctime cannot be set from user space, so a rewrite that restores
size and mtime still changes the signature. The stamp is written by maestro only, in the
state root the agent cannot write (DESIGN trust rules), and nothing it says is trusted
that was not checked by the full run against the same bytes.

``holder.json`` is left out of the signatures: every ``maestro lane`` run rewrites it when
it takes the lane lock. It is checked by content instead (a JSON object, as
:func:`~maestro.lanes.record.damage.set_aside` requires).

Nothing here imports pydantic, ruamel.yaml, filelock or the Liquid engine.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from maestro.config.locate import file_signature, find_config, raw_roots
from maestro.fsutil import json_problem, read_json, write_json
from maestro.ids import check_identifier, iso_now
from maestro.pipeline.files import pipeline_file, target_done

STAMP_VERSION = 1
HOLDER = "holder.json"
SNAPSHOT = "workflow.snapshot.md"
LOCK = "lane.lock"
#: The outcome record of a run that found the lane finished (see ``pipeline._idle_outcome``).
FINISHED_RECORD = {"outcome": "finished", "phase": "cleanup", "reason": "lane already finished"}
#: Modules whose rules the stamp stands for: an upgraded maestro re-checks every lane.
_PACKAGE = Path(__file__).resolve().parents[1]
CODE_FILES = ("pipeline/spec.py", "pipeline/files.py", "lanes/record/damage.py", "lanes/noop.py",
              "config/workflow.py", "config/service.py")


def stamp_path(state_root: Path, identifier: str) -> Path:
    return state_root / "cache" / "finished" / f"{identifier}.json"


def code_signatures() -> list[Any]:
    return [file_signature(_PACKAGE / name) for name in CODE_FILES]


def lane_files(folder: Path) -> dict[str, Any] | None:
    """Signatures of the lane files a finished-lane check reads: every ``*.json`` of the
    folder and of ``turns/`` (``holder.json`` excepted) and the workflow snapshot, by
    name relative to the folder; None when the folder cannot be listed or one of them is
    not a regular file (the full run then says what is wrong)."""
    found: dict[str, Any] = {}
    try:
        for sub in ("", "turns"):
            where = folder / sub if sub else folder
            if sub and not where.is_dir():
                continue
            with os.scandir(where) as entries:
                for entry in entries:
                    name = entry.name
                    if name.startswith(".") or (name == HOLDER and not sub):
                        continue
                    if name.endswith(".json") or (name == SNAPSHOT and not sub):
                        signature = file_signature(where / name)
                        if signature is None:
                            return None
                        found[f"{sub}/{name}" if sub else name] = list(signature)
    except OSError:
        return None
    return found


def chain(phases: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The phases ``lane:ID`` runs, first to last: the last phase and its ``after``
    ancestors (doit runs a task's ``task_dep`` first)."""
    by_name = {phase["name"]: phase for phase in phases}
    order: list[dict[str, Any]] = []
    current: dict[str, Any] | None = phases[-1]
    while current is not None and current not in order:
        order.insert(0, current)
        after = current.get("after")
        current = by_name.get(after) if after else None
    return order


def all_done(folder: Path, phases: Sequence[dict[str, Any]]) -> bool:
    return all(target_done(folder, p["target"], p["done_when"]) for p in chain(phases))


def _holder_intact(folder: Path) -> bool:
    path = folder / HOLDER
    return json_problem(path) is None and (not path.exists() or isinstance(read_json(path), dict))


# -- recording (by the full run) --------------------------------------------------------------


class Recorder:
    """What a full run saw before it checked the lanes: taken first, compared again when
    recording, so a file changed during the check is never stamped."""

    def __init__(self, config: Any, pipeline: Path, identifiers: Sequence[str]) -> None:
        self.config = config
        self.pipeline = pipeline
        self.pipeline_signature = file_signature(pipeline)
        self.code = code_signatures()
        self.before = {i: lane_files(config.lanes_root / i) for i in identifiers}

    def _roots(self) -> dict[str, str]:
        c = self.config
        return {"repo_root": str(c.repo_root), "workflow_path": str(c.workflow_path),
                "workspace_root": str(c.workspace_root), "state_root": str(c.state_root)}

    def record(self, identifier: str, phases: list[dict[str, Any]]) -> None:
        """Stamp ``identifier`` when it is finished and nothing it relies on changed since
        this recorder was made; remove a stale stamp otherwise. Never raises OSError."""
        folder = self.config.lanes_root / identifier
        target = stamp_path(self.config.state_root, identifier)
        source = self.config.source
        config_signature = self.config.source_signature
        stable = (self.before.get(identifier) is not None
                  and all_done(folder, phases) and _holder_intact(folder)
                  and lane_files(folder) == self.before[identifier]
                  and file_signature(self.pipeline) == self.pipeline_signature
                  and (source is None or file_signature(source) == config_signature)
                  and code_signatures() == self.code)
        with contextlib.suppress(OSError):
            if not stable:
                target.unlink(missing_ok=True)
                return
            write_json(target, {
                "version": STAMP_VERSION, "identifier": identifier,
                "config": [str(source) if source is not None else None,
                           list(config_signature) if config_signature else None],
                "roots": self._roots(),
                "pipeline": [str(self.pipeline), list(self.pipeline_signature or ())],
                "code": self.code, "phases": phases, "files": self.before[identifier]})


# -- checking (by the no-op run) --------------------------------------------------------------


class Finished:
    """Lanes a stamp vouches for: their folders and the compiled phases."""

    def __init__(self, config: Path | None, roots: dict[str, str],
                 phases: list[dict[str, Any]]) -> None:
        self.config = config
        self.roots = roots
        self.phases = phases

    @property
    def state_root(self) -> Path:
        return Path(self.roots["state_root"])

    @property
    def lanes_root(self) -> Path:
        return self.state_root / "lanes"


def check(identifiers: Sequence[str], explicit: Path | None, cwd: Path) -> Finished | None:
    """A :class:`Finished` when every named lane has a stamp that still holds; None when
    any of them needs the full run (never raises)."""
    try:
        return _check(identifiers, explicit, cwd)
    except Exception:  # anything odd: the full run decides and reports
        return None


def _check(identifiers: Sequence[str], explicit: Path | None, cwd: Path) -> Finished | None:
    if not identifiers:
        return None
    config = find_config(explicit, cwd.resolve())
    config_signature = file_signature(config) if config is not None else None
    if config is not None and config_signature is None:
        return None
    roots = raw_roots(config, cwd.resolve())
    pipeline = pipeline_file(Path(roots["repo_root"]))
    expected = {"config": [str(config) if config is not None else None,
                           list(config_signature) if config_signature else None],
                "roots": roots,
                "pipeline": [str(pipeline), list(file_signature(pipeline) or ())],
                "code": json.loads(json.dumps(code_signatures()))}
    phases: list[dict[str, Any]] | None = None
    for identifier in identifiers:
        check_identifier(identifier)
        stamp = read_json(stamp_path(Path(roots["state_root"]), identifier))
        if not isinstance(stamp, dict) or stamp.get("version") != STAMP_VERSION:
            return None
        if any(stamp.get(key) != value for key, value in expected.items()):
            return None
        folder = Path(roots["state_root"]) / "lanes" / identifier
        if lane_files(folder) != stamp.get("files") or not _holder_intact(folder):
            return None
        if phases is not None and stamp.get("phases") != phases:
            return None
        phases = stamp.get("phases")
        # A custom pipeline's target or condition may name a file outside the signed set.
        if not isinstance(phases, list) or not phases or not all_done(folder, phases):
            return None
    if not isinstance(phases, list) or not phases:
        return None
    return Finished(config, roots, phases)


# -- the two no-op runs -----------------------------------------------------------------------


def doit_tasks(finished: Finished, identifiers: Sequence[str],
               run_phase: Callable[[str, str, str], Any]) -> Iterator[dict[str, Any]]:
    """doit tasks for finished lanes, shaped like :func:`maestro.pipeline.lane_tasks`'."""
    from maestro.pipeline import lane_tasks

    yield from lane_tasks(finished.phases, finished.lanes_root, list(identifiers), run_phase)


def _doit_config_files(cwd: Path) -> bool:
    """Whether doit would read options of its own here (``doit.cfg``, ``[tool.doit]``)."""
    if (cwd / "doit.cfg").exists():
        return True
    with contextlib.suppress(OSError, UnicodeDecodeError):
        return "tool.doit" in (cwd / "pyproject.toml").read_text()
    return False


def lane_command(identifier: str, explicit: Path | None, quiet: bool) -> dict[str, Any] | None:
    """``maestro lane ID`` on a finished lane: take the lane lock and record the holder as
    the full run does, print doit's "up to date" lines unless ``quiet``, and return the
    outcome record; None when the full run must answer (not finished, not provably so,
    leased by another process, doit options of its own in the folder)."""
    cwd = Path.cwd()
    if _doit_config_files(cwd):
        return None
    try:
        check_identifier(identifier)
        finished = check([identifier], explicit, cwd)
        if finished is None or finished_config_missing(finished):
            return None
        folder = finished.lanes_root / identifier
        fd = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    except Exception:  # the full run reports it
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return None  # leased: the full run says by whom
        try:
            write_json(folder / HOLDER, {"pid": os.getpid(), "host": socket.gethostname(),
                                         "since": iso_now(), "role": "lane"})
            if check([identifier], explicit, cwd) is None or not (folder / "cleanup.json"
                                                                  ).exists():
                return None
        except Exception:  # the full run reports it
            return None
        if not quiet:
            for phase in chain(finished.phases):
                print(f"-- {phase['name']}:{identifier}", flush=True)
        return {**FINISHED_RECORD, "doit_exit_code": 0}
    finally:
        os.close(fd)


def finished_config_missing(finished: Finished) -> bool:
    """With no ``maestro.toml``, a project needs its WORKFLOW.md (``load_project``)."""
    return finished.config is None and not Path(finished.roots["workflow_path"]).is_file()
