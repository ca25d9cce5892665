"""Run doit tasks from a namespace without doit's command-line front end.

``maestro lane`` runs its lane through doit in its own process. ``DoitMain`` (doit's
``doit`` command) would first scan every installed distribution's entry points three
times for plugin commands, backends and reporters, parse a command line, and read
``pyproject.toml`` and ``doit.cfg`` of the working directory. The lane needs none of that
(its tasks, backend and dependency file come from ``DOIT_CONFIG`` in the namespace, and
only doit's built-in reporters are ever named), and the scans alone were about a tenth of
a land run's CPU. This module does what doit's ``run`` command does with the same doit
objects: load the tasks, open the dependency database, select the tasks, run them with
doit's ``Runner``, close the database.

Unlike ``DoitMain``, the working directory's ``pyproject.toml`` ``[tool.doit]`` and
``doit.cfg`` are not read: a lane is configured by maestro's files, not by the doit
settings of the repository it works on. ``doit lane:ID`` through a ``dodo.py`` is doit's
own command line and keeps all of it.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Mapping, Sequence
from typing import Any

#: doit's built-in reporters by the names ``--reporter`` accepts.
REPORTERS = ("console", "executed-only", "json", "zero", "error-only")


def run_tasks(namespace: Mapping[str, Any], selected: Sequence[str],
              reporter: str = "console") -> int:
    """Run the tasks named in ``selected`` (and what they depend on) from ``namespace``
    (``DOIT_CONFIG`` and ``task_*`` creators, what a ``dodo.py`` holds), reporting with
    one of doit's built-in reporters.

    Returns doit's exit code: 0 every task done, 1 a task failed, 2 a task raised an
    error, 3 an error before any task ran (an invalid task or configuration: ``ERROR:``
    and the reason on stderr, as ``doit`` prints it; any other exception: its traceback).
    """
    from doit import doit_cmd, loader
    from doit.action import CmdAction, PythonAction
    from doit.cmd_run import opt_outfile
    from doit.control import TaskControl
    from doit.dependency import CHECKERS, DbmDB, Dependency, JSONCodec, JsonDB, SqliteDB
    from doit.exceptions import InvalidCommand, InvalidDodoFile, InvalidTask
    from doit.globals import Globals
    from doit.reporter import (
        ConsoleReporter,
        ErrorOnlyReporter,
        ExecutedOnlyReporter,
        JsonReporter,
        ZeroReporter,
    )
    from doit.runner import Runner
    from doit.task import Stream

    from maestro.pipeline.doit_db import open_dependencies, save_or_warn

    reporters = dict(zip(REPORTERS, (ConsoleReporter, ExecutedOnlyReporter, JsonReporter,
                                     ZeroReporter, ErrorOnlyReporter), strict=True))
    backends = {"dbm": DbmDB, "json": JsonDB, "sqlite3": SqliteDB}
    doit_cmd.reset_vars()  # no ``name=value`` variables, as DoitMain leaves them
    try:
        config = loader.load_doit_config(dict(namespace))
        if reporter not in reporters:
            raise InvalidCommand(f"unknown reporter {reporter!r}")
        backend = config.get("backend", "dbm")
        checker = config.get("check_file_uptodate", "md5")
        if backend not in backends or checker not in CHECKERS:
            raise InvalidDodoFile(f"DOIT_CONFIG: backend {backend!r} or "
                                  f"check_file_uptodate {checker!r} not built in")
        CmdAction.STRING_FORMAT = config.get("action_string_formatting", "old")
        if CmdAction.STRING_FORMAT not in ("old", "both", "new"):
            raise InvalidDodoFile(
                "`action_string_formatting` must be one of `old`, `both`, `new`")
        PythonAction.pm_pdb = False
        dep_file = config.get("dep_file", ".doit.db")

        def open_at(name: str) -> Any:
            return Dependency(backends[backend], name, checker_cls=CHECKERS[checker],
                              codec_cls=JSONCodec)

        # doit's database is a cache of the lane files: a disk that refuses it is a warning
        dep_manager = (open_dependencies(open_at, dep_file) if backend == "sqlite3"
                       else open_at(dep_file))
        save_or_warn(dep_manager, dep_file)
        Globals.dep_manager = dep_manager
        command_names = sorted(cmd.get_name() for cmd in doit_cmd.DoitMain.DOIT_CMDS)
        tasks = loader.load_tasks(dict(namespace), command_names, allow_delayed=True,
                                  args=list(selected), config={}, task_opts=None)
        control = TaskControl(tasks)
        control.process(list(selected))
        # doit's default output stream: ``sys.stdout`` as it was when doit was imported
        report = reporters[reporter](opt_outfile["default"], {"failure_verbosity": 0})
        runner = Runner(dep_manager, report, False, False,
                        Stream(config.get("verbosity"), False))
        return int(runner.run_all(control.task_dispatcher()))
    except (InvalidDodoFile, InvalidCommand, InvalidTask) as err:
        sys.stderr.write(f"ERROR: {err}\n")
        return 3
    except Exception:  # what DoitMain does with anything else: the traceback, code 3
        sys.stderr.write(traceback.format_exc())
        return 3
