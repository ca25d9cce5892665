"""The operator's commands: ``retry``, ``cancel``, ``pause``, ``resume``, ``logs``, ``doctor``.

:func:`register` adds them to ``maestro``'s parser, so :mod:`maestro.cli` only lists them;
each handler loads the service config and calls the module that does the work
(:mod:`~maestro.operator.actions`, :mod:`~maestro.operator.story`,
:mod:`~maestro.operator.doctor`).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from maestro.config.service import ServiceConfig

Handler = Callable[[argparse.Namespace], int]
Add = Callable[[str, Handler, str], argparse.ArgumentParser]

__all__ = ["register"]


def _config(args: argparse.Namespace) -> ServiceConfig:
    from maestro.config.discovery import load_project

    return load_project(args.config)


def cmd_retry(args: argparse.Namespace) -> int:
    from maestro.operator.actions import retry

    print(retry(_config(args), args.issue))
    return 0


def cmd_cancel(args: argparse.Namespace) -> int:
    from maestro.operator.actions import cancel

    print(cancel(_config(args), args.issue))
    return 0


def cmd_pause(args: argparse.Namespace) -> int:
    from maestro.operator.actions import pause

    print(pause(_config(args)))
    return 0


def cmd_resume(args: argparse.Namespace) -> int:
    from maestro.operator.actions import resume

    print(resume(_config(args)))
    return 0


def cmd_logs(args: argparse.Namespace) -> int:
    from maestro.operator.story import show_story

    return show_story(_config(args), args.issue, follow=args.follow, as_json=args.json)


def cmd_doctor(args: argparse.Namespace) -> int:
    from maestro.operator.doctor import run_doctor

    return run_doctor(args.config, workflow=getattr(args, "workflow", None))


def register(add: Add) -> None:
    """Add the operator's commands to the ``maestro`` parser through ``add(name, handler,
    help)`` (which gives each one the global options)."""
    retry = add("retry", cmd_retry, "queue a failed or needs-human lane again")
    retry.add_argument("issue", metavar="ID", help="issue identifier, e.g. MAE-12")
    cancel = add("cancel", cmd_cancel, "stop a lane, move its issue to the cancelled state "
                 "(the worktree is kept if it holds unpushed work)")
    cancel.add_argument("issue", metavar="ID", help="issue identifier, e.g. MAE-12")
    add("pause", cmd_pause, "hold new dispatch (running lanes go on)")
    add("resume", cmd_resume, "release the dispatch hold of `maestro pause`")
    logs = add("logs", cmd_logs, "a lane's story: phases, turns, tool calls, commands, "
               "outcome")
    logs.add_argument("issue", metavar="ID", help="issue identifier, e.g. MAE-12")
    logs.add_argument("--follow", "-f", action="store_true",
                      help="keep printing new events until the lane ends (Ctrl-C stops)")
    logs.add_argument("--json", action="store_true",
                      help="one JSON object per event instead of text")
    add("doctor", cmd_doctor, "check that lanes can run here: git, origin, base branch, "
        "agent, tracker, WORKFLOW.md, state folder")
