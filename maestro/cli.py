"""The ``maestro`` command line.

Every failure a person can cause is a :class:`~maestro.errors.MaestroError`: it is printed
as one clear message and the process exits with its code, never with a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from maestro import __version__
from maestro.errors import InputError, MaestroError, exhausted

if TYPE_CHECKING:
    from maestro.config.service import ServiceConfig

EXIT_LANE = {"finished": 0, "waiting": 0, "skipped": 0, "terminated": 0, "interrupted": 0,
             "retry": 1, "needs_human": 1}


def _config(args: argparse.Namespace) -> ServiceConfig:
    from maestro.config.discovery import load_project  # pydantic: only for commands needing it

    positional = getattr(args, "workflow_arg", None)  # a person's: must exist
    return load_project(args.config, workflow=positional or getattr(args, "workflow", None),
                        workflow_must_exist=positional is not None)


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, sort_keys=True, default=str))


# -- commands ---------------------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from maestro.scaffold.demo import origin_log, run_demo, summary_rows

    result = run_demo(Path(args.dir) if args.dir else None)
    console = Console()
    table = Table(title=f"maestro demo finished in {result.seconds:.1f}s ({result.ticks} ticks)")
    for column in ("issue", "title", "state", "labels"):
        table.add_column(column)
    for row in summary_rows(result):
        table.add_row(*row)
    console.print(table)
    console.print("[bold]origin main[/bold]:\n" + origin_log(result))
    from maestro.process.invocation import maestro_command

    me = maestro_command()
    console.print(f"\nInspect it:\n  cd {result.repo}\n  {me} status\n  {me} logs DEMO-4\n"
                  f"  {me} issue show DEMO-2", markup=False, highlight=False)
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    from maestro.scaffold.repository import default_branch, init_repository, next_steps

    root = Path(args.path).resolve()
    base = args.base or (default_branch(root) if (root / ".git").exists() else "main")
    written = init_repository(root, prefix=args.prefix, base=base, force=args.force)
    if args.ci == "github":
        from maestro.scaffold.ci import write_github_workflow

        written.append(write_github_workflow(root, force=args.force, package=args.ci_package))
    for path in written:
        print(f"wrote {path.relative_to(root) if path.is_relative_to(root) else path}")
    if not written:
        print("nothing to do: maestro files already exist (use --force to overwrite)")
        return 0
    print(f"\nbase branch: {base}\nnext steps:")
    for command, why in next_steps(base):
        print(f"  {command}\n      {why}")
    return 0


def cmd_lane(args: argparse.Namespace) -> int:
    from maestro.containment.reaper import adopt_orphans, sweep_orphans
    from maestro.git.reader import close_all as close_readers

    adopt_orphans()  # nothing the lane's agent, hooks or validation start outlives it
    try:
        return _lane_command(args)
    finally:
        close_readers()  # the lane's own git readers first: a sweep without children is free
        sweep_orphans()


def _lane_command(args: argparse.Namespace) -> int:
    from maestro.lanes.noop import lane_command

    outcome: dict[str, Any] | int | None = None
    if not (args.reset or getattr(args, "workflow", None)):  # finished: answered from a stamp
        outcome = lane_command(args.issue, getattr(args, "config", None),
                               args.quiet or args.json)
    if outcome is None:
        outcome = _run_lane(args)
    if isinstance(outcome, int):
        return outcome
    if args.json:
        _print_json(outcome)
    else:
        print(f"lane {args.issue}: {outcome.get('outcome')} "
              f"(phase {outcome.get('phase') or '-'}): {outcome.get('reason', '')}")
    return EXIT_LANE.get(str(outcome.get("outcome")), 1)


def _run_lane(args: argparse.Namespace) -> dict[str, Any] | int:
    from maestro.pipeline import run_lane

    config = _config(args)
    if args.reset:
        from maestro.lanes.context import LaneContext
        from maestro.lanes.outcomes import reset_lane

        ctx = LaneContext(config, args.issue)
        ctx.state.acquire()
        try:
            aside = reset_lane(ctx, "reset by an operator")
        finally:
            ctx.state.release()
        kept = f"; the work its last stop kept is now {aside}" if aside else ""
        print(f"lane {args.issue}: local state archived{kept}; the next run starts afresh "
              "(or rebuilds from the tracker)")
        return 0
    # --json: stdout holds the outcome record alone (doit's progress would come first).
    extra = ["--reporter", "zero"] if args.quiet or args.json else []
    return run_lane(config, args.issue, extra)


def cmd_run(args: argparse.Namespace) -> int:
    from maestro.orchestration.orchestrator import Orchestrator

    orchestrator = Orchestrator(_config(args))
    if args.dry_run:
        plan = orchestrator.plan(dry_run=True)
        _show_plan(plan.as_dict(), args.json)
        return 0
    from maestro.operator.live import watching
    from maestro.orchestration.daemon_lock import holding_loop_lock

    with holding_loop_lock(orchestrator.config.state_root, "maestro run --once",
                           orchestrator.config.repo_root), \
            watching(orchestrator.config, enabled=not args.json):
        plan = orchestrator.tick(wait=True)
    _show_plan(plan.as_dict(), args.json)
    return 0


def _show_plan(plan: dict[str, Any], as_json: bool) -> None:
    if as_json:
        _print_json(plan)
        return
    if plan.get("held"):  # the daily token ceiling (docs/guide/budgets.md)
        print(plan["held"])
    for item in plan["reconcile"]:
        print(f"reconcile {item['issue']}: {item['action']} (issue is {item['state']})")
    for item in plan["dispatch"]:
        print(f"dispatch {item['issue']}: {item['reason']}")
    for item in plan["retries_waiting"]:
        why = f" ({item['reason']})" if item.get("reason") else ""
        print(f"retry {item['issue']}: {item['kind']} due at {item['due_at']}{why}")
    for item in plan.get("waiting", []):
        print(f"wait {item['issue']}: {item['reason']}")
    for item in plan["skipped"]:
        print(f"skip {item['issue']}: {item['reason']}")
    if not any(plan.get(key) for key in ("reconcile", "dispatch", "retries_waiting", "skipped",
                                         "waiting")):
        print("nothing to do")


def cmd_plan(args: argparse.Namespace) -> int:
    from maestro.orchestration.orchestrator import Orchestrator

    plan = Orchestrator(_config(args)).plan(dry_run=False)
    if args.github_matrix:
        print(json.dumps({"include": [{"issue": i} for i in plan.issues()]}))
    else:
        _show_plan(plan.as_dict(), args.json)
    return 0


def cmd_daemon(args: argparse.Namespace) -> int:
    if args.poll_interval_s <= 0:
        raise InputError("--poll-interval-s: expected a positive number of seconds")
    config = _config(args)
    from maestro.orchestration.daemon_lock import holding_loop_lock

    with holding_loop_lock(config.state_root, "maestro daemon", config.repo_root):
        return _serve_daemon(args, config)


def _serve_daemon(args: argparse.Namespace, config: ServiceConfig) -> int:
    from maestro.operator.exposure import exposure_warning
    from maestro.operator.http import start_if_configured
    from maestro.operator.live import watching
    from maestro.orchestration.orchestrator import Orchestrator
    from maestro.orchestration.refresh import request_path

    if warning := exposure_warning(config.operator_http.listen_address):
        print(f"maestro: warning: {warning}", file=sys.stderr)
    server = start_if_configured(config, args.port)  # off without --port or an address
    try:
        with watching(config):
            if server is not None:
                print(f"maestro: operator dashboard at {server.url}/")
            Orchestrator(config).daemon(args.poll_interval_s, max_ticks=args.max_ticks,
                                        refresh_flag=request_path(config.state_root))
    finally:
        if server is not None:
            server.stop()
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from maestro.operator.status import snapshot

    if args.limit < 0:
        raise InputError("--limit: expected a number >= 0")
    snap = snapshot(_config(args), limit=args.limit)
    if args.json:
        _print_json(snap)
        return 0
    from maestro.operator.status_view import render_status

    render_status(snap)
    return 0


def _tracker(args: argparse.Namespace) -> Any:
    from maestro.config.workflow import load_workflow
    from maestro.trackers import make_tracker

    config = _config(args)
    return make_tracker(config, load_workflow(config.workflow_path))


def _default_list_states(args: argparse.Namespace, tracker: Any) -> list[str]:
    """No ``--state``: the files tracker lists its folder; a service tracker is asked for
    the workflow's non-terminal states (maestro/trackers/listing.py), and told so."""
    if hasattr(tracker, "all_issues"):
        return []
    from maestro.config.workflow import load_workflow
    from maestro.trackers.listing import default_list_states

    states = default_list_states(load_workflow(_config(args).workflow_path).policy.tracker)
    print(f"maestro: listing issues in {', '.join(states)} (the workflow's non-terminal "
          "states); --state STATE lists others", file=sys.stderr)
    return states


def cmd_issue(args: argparse.Namespace) -> int:
    from maestro.operator.terminal_text import visible

    tracker = _tracker(args)
    action = args.issue_command
    if action == "list":
        states = args.state or _default_list_states(args, tracker)
        issues = (tracker.all_issues() if hasattr(tracker, "all_issues") and not args.state
                  else tracker.candidates(states))
        if args.json:
            _print_json([i.model_dump(mode="json") for i in issues])
        else:
            for issue in issues:
                labels = f"  [{', '.join(issue.labels)}]" if issue.labels else ""
                print(visible(f"{issue.identifier:<12} {issue.state:<12} {issue.title}{labels}"))
        for problem in getattr(tracker, "problems", []):
            print(f"maestro: warning: issue skipped: {problem}", file=sys.stderr)
        return 0
    if action == "show":
        issue = tracker.get(args.id)
        notes = tracker.comments(args.id)
        if args.json:
            _print_json({**issue.model_dump(mode="json"),
                         "comments": [c.model_dump(mode="json") for c in notes]})
        else:
            # Titles, descriptions and comments are others' text (the agent comments too):
            # shown on the terminal, never obeyed by it (operator/terminal_text.py).
            print(visible(f"{issue.identifier}: {issue.title}\nstate: {issue.state}"))
            if issue.labels:
                print(visible("labels: " + ", ".join(issue.labels)))
            if issue.blocked_by:
                print(visible("blocked by: " + ", ".join(issue.blocked_by)))
            print(visible(f"\n{issue.description}\n"))
            for note in notes:
                print(visible(f"--- comment {note.id} by {note.author} at {note.created_at}\n"
                              f"{note.body}"))
        return 0
    if action == "new":
        if not hasattr(tracker, "create"):
            raise InputError(f"`maestro issue new` is not supported by the {tracker.name} "
                             "tracker; create the issue there")
        issue = tracker.create(args.title, _issue_text(args), state=args.state_name,
                               labels=args.label or [], blocked_by=args.blocked_by or [],
                               priority=args.priority)
        if args.json:
            _print_json(issue.model_dump(mode="json"))
        else:
            print(f"created {issue.identifier}")
        return 0
    if action == "move":
        from maestro.config.workflow import load_workflow

        policy = load_workflow(_config(args).workflow_path).policy.tracker
        state = policy.named_state(args.state_name)
        if state is None and not args.force:
            raise InputError(f"state {args.state_name!r} is not named by the workflow (one of: "
                             f"{', '.join(policy.named_states())}); use --force for a tracker "
                             "state outside the workflow")
        args.state_name = state or args.state_name
        changed = tracker.transition(args.id, args.state_name)
        print(f"{args.id}: {'moved to' if changed else 'already in'} {args.state_name}")
        return 0
    if action == "comment":
        note = tracker.comment(args.id, args.body)
        print(f"{args.id}: comment {note.id} posted")
        return 0
    if action == "label":
        changed = (tracker.remove_label(args.id, args.label) if args.remove
                   else tracker.add_label(args.id, args.label))
        print(f"{args.id}: label {args.label} {'changed' if changed else 'unchanged'}")
        return 0
    raise InputError(f"unknown issue command {action!r}")


def _issue_text(args: argparse.Namespace) -> str:
    """``--description``/``--body`` TEXT, or ``--body-file`` FILE (``-``: standard input)."""
    if args.body_file is None:
        return str(args.description or "")
    if args.body_file == "-":
        return sys.stdin.read()
    try:
        return Path(args.body_file).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"--body-file {args.body_file}: cannot read: "
                         f"{getattr(exc, 'strerror', None) or exc}") from None


def cmd_review(args: argparse.Namespace) -> int:
    from maestro.config.template_checks import TemplateChecks
    from maestro.config.workflow import load_workflow
    from maestro.forges.local import LocalForge
    from maestro.ids import branch_name
    from maestro.lanes.record.state import LaneState
    from maestro.model import ReviewVerdict

    config = _config(args)
    workflow = load_workflow(config.workflow_path, TemplateChecks.of_state(config.state_root))
    if workflow.policy.forge.provider != "local":
        raise InputError("`maestro review` records reviews on the local forge; review GitHub "
                         "PRs on GitHub")
    forge = LocalForge(config.repo_root, workflow.policy.forge.remote)
    record = LaneState(config.lanes_root, args.id).read("pr.json")
    pr = forge.find_pr(branch_name(args.id, workflow.policy.forge.branch_prefix))
    number = int(record["number"]) if record else (pr.number if pr else 0)
    if not number:
        raise InputError(f"issue {args.id} has no pull request on the local forge")
    if args.review_command == "approve":
        forge.add_review(number, ReviewVerdict.APPROVED, args.comment or "", author=args.author)
        print(f"approved #{number} for {args.id}")
    elif args.review_command == "request-changes":
        forge.add_review(number, ReviewVerdict.CHANGES_REQUESTED, args.comment,
                         author=args.author, path=args.file or "", line=args.line)
        print(f"requested changes on #{number} for {args.id}")
    elif args.review_command == "close":
        forge.close_pr(number)
        print(f"closed #{number} for {args.id} without merging")
    return 0


# -- parser -----------------------------------------------------------------------------------


CONFIG_HELP = ("path to maestro.toml (default: ./tmp/maestro.toml, then maestro.toml here or "
               "in a parent folder of the repository, then the user config dir)")
WORKFLOW_HELP = ("path to WORKFLOW.md (default: workflow_path of maestro.toml, WORKFLOW.md at "
                 "the repository root)")
JSON_HELP = "print JSON instead of text"
ID_HELP = "issue identifier, e.g. MAE-12"


def _global_options(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Options accepted before or after any subcommand (``maestro status --config X``);
    absent after the subcommand, the value given before it (or the default) stands."""
    parser.add_argument("--config", type=Path, default=argparse.SUPPRESS, help=CONFIG_HELP)
    parser.add_argument("--workflow", type=Path, default=argparse.SUPPRESS, help=WORKFLOW_HELP)
    return parser


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The command line; with ``only`` naming a command, that command's parser alone
    (maestro/cli_subset.py), or the whole one if ``only`` names no command."""
    from maestro.cli_subset import LEFT_OUT

    parser = argparse.ArgumentParser(
        prog="maestro", description="Turn tracker issues into merged pull requests with "
        "autonomous coding agents, one resumable lane per issue.")
    parser.add_argument("--version", action="version", version=f"maestro {__version__}")
    parser.add_argument("--config", type=Path, help=CONFIG_HELP)
    parser.add_argument("--workflow", type=Path, help=WORKFLOW_HELP)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, handler: Callable[[argparse.Namespace], int], help_text: str
            ) -> argparse.ArgumentParser:
        if only is not None and name != only:
            return LEFT_OUT
        command = sub.add_parser(name, help=help_text, description=help_text)
        command.set_defaults(handler=handler)
        return _global_options(command)

    def nested(group: Any, name: str, help_text: str) -> argparse.ArgumentParser:
        return _global_options(group.add_parser(name, help=help_text, description=help_text))

    demo = add("demo", cmd_demo, "run the whole lifecycle offline in a sandbox repository")
    demo.add_argument("--dir", help="folder for the sandbox (new or empty; default: a temp dir)")

    init = add("init", cmd_init, "write maestro.toml, WORKFLOW.md, issues/ and dodo.py")
    init.add_argument("path", nargs="?", default=".",
                      help="the git repository to set up (default: the current folder)")
    init.add_argument("--prefix", default="MAE", help="identifier prefix for new issues")
    init.add_argument("--base", default=None,
                      help="base branch lanes start from (default: origin's default branch, "
                           "else the branch checked out)")
    init.add_argument("--ci", choices=["github"], help="also write a CI workflow")
    init.add_argument("--ci-package", metavar="REQ",
                      help="pip requirement the CI workflow installs maestro from: "
                           "maestro-lanes==VERSION (default: this version) or git+URL@COMMIT")
    init.add_argument("--force", action="store_true", help="overwrite existing files")

    lane = add("lane", cmd_lane, "run one lane as far as it can go (same as doit lane:ID)")
    lane.add_argument("issue", metavar="ID", help=ID_HELP)
    lane.add_argument("--json", action="store_true",
                      help="print the outcome record as JSON, and nothing else on stdout")
    lane.add_argument("--quiet", action="store_true", help="no per-phase doit output")
    lane.add_argument("--reset", action="store_true",
                      help="archive the lane's local state instead of running it")

    run = add("run", cmd_run, "one poll tick: reconcile, retry, advance, select, dispatch")
    run.add_argument("workflow_arg", nargs="?", type=Path, metavar="WORKFLOW",
                     help="path to WORKFLOW.md (as --workflow)")
    run.add_argument("--once", action="store_true", help="one tick (the default and only mode)")
    run.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    run.add_argument("--json", action="store_true", help="print the plan as JSON")

    plan = add("plan", cmd_plan, "the selection pass without executing it")
    fmt = plan.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print the plan as JSON")
    fmt.add_argument("--github-matrix", action="store_true",
                     help='print {"include": [{"issue": ...}]} for a GitHub Actions matrix')

    daemon = add("daemon", cmd_daemon, "tick forever; SIGTERM/SIGINT stop gracefully")
    daemon.add_argument("workflow_arg", nargs="?", type=Path, metavar="WORKFLOW",
                        help="path to WORKFLOW.md (as --workflow)")
    daemon.add_argument("--poll-interval-s", type=float, default=60.0,
                        help="seconds between ticks (default: 60)")
    daemon.add_argument("--max-ticks", type=int, default=None, help=argparse.SUPPRESS)
    daemon.add_argument("--port", type=int, default=None,
                        help="serve the operator dashboard and API on this loopback port "
                             "(0: any free port); overrides server.port and the port of "
                             "[operator_http] listen_address")

    status = add("status", cmd_status, "what every lane is doing")
    status.add_argument("--json", action="store_true", help="print the snapshot as JSON")
    status.add_argument("--limit", type=int, default=20, help="recent runs to show")

    issue = add("issue", cmd_issue, "read and edit issues of the configured tracker")
    issue_sub = issue.add_subparsers(dest="issue_command", required=True, metavar="ACTION")
    listing = nested(issue_sub, "list", "list issues")
    listing.add_argument("--state", action="append", help="only issues in this state "
                         "(repeatable)")
    show = nested(issue_sub, "show", "one issue with its comments")
    show.add_argument("id", metavar="ID", help=ID_HELP)
    new = nested(issue_sub, "new", "create an issue (files tracker)")
    new.add_argument("--title", required=True, help="one line")
    text = new.add_mutually_exclusive_group()
    text.add_argument("--description", "--body", dest="description", default="",
                      metavar="TEXT", help="the issue's text (Markdown)")
    text.add_argument("--body-file", metavar="FILE",
                      help="read the issue's text from FILE ('-' for standard input)")
    new.add_argument("--state", dest="state_name", default="Todo", metavar="STATE",
                     help="initial state (default: Todo)")
    new.add_argument("--label", action="append", help="a label (repeatable)")
    new.add_argument("--blocked-by", action="append", metavar="ID",
                     help="an issue that must finish first (repeatable)")
    new.add_argument("--priority", type=int, metavar="N",
                     help="1 is the most urgent; lower runs first, none runs last")
    move = nested(issue_sub, "move", "move an issue to a state")
    move.add_argument("id", metavar="ID", help=ID_HELP)
    move.add_argument("state_name", metavar="STATE", help="a state the workflow names")
    move.add_argument("--force", action="store_true",
                      help="allow a tracker state the workflow does not name")
    comment = nested(issue_sub, "comment", "comment on an issue")
    comment.add_argument("id", metavar="ID", help=ID_HELP)
    comment.add_argument("body", help="the comment's text (Markdown)")
    label = nested(issue_sub, "label", "add (or --remove) a label")
    label.add_argument("id", metavar="ID", help=ID_HELP)
    label.add_argument("label", help="the label's name")
    label.add_argument("--remove", action="store_true", help="remove the label instead")
    for command in (listing, show, new, move, comment, label):
        command.add_argument("--json", action="store_true", help=JSON_HELP)

    review = add("review", cmd_review, "review a lane's PR on the local forge")
    review_sub = review.add_subparsers(dest="review_command", required=True, metavar="ACTION")
    approve = nested(review_sub, "approve", "approve the lane's PR")
    approve.add_argument("id", metavar="ID", help=ID_HELP)
    approve.add_argument("--comment", default="", help="the review's text")
    changes = nested(review_sub, "request-changes", "ask for changes")
    changes.add_argument("id", metavar="ID", help=ID_HELP)
    changes.add_argument("--comment", required=True, help="what to change")
    changes.add_argument("--file", help="file the comment is about (an inline thread)")
    changes.add_argument("--line", type=int, help="line of --file the comment is about")
    close = nested(review_sub, "close", "close the PR without merging")
    close.add_argument("id", metavar="ID", help=ID_HELP)
    for command in (approve, changes, close):
        command.add_argument("--author", default=None, help="reviewer name (default: you)")

    protocol = add("protocol", cmd_protocol, "checks of the agent protocol")
    protocol.add_argument("action", choices=["probe"],
                          help="probe: check the configured agent transport")
    protocol.add_argument("--codex", default=None, help="probe this codex command (app-server)")
    protocol.add_argument("--claude", default=None, help="probe this Claude Code command")
    protocol.add_argument("--acp", default=None, help="probe this ACP agent command")

    assets = add("assets", cmd_assets, "the skills and agent roles shipped with maestro")
    assets.add_argument("action", choices=["install", "check"],
                        help="install where the agent reads them, or check the shipped files")
    assets.add_argument("--agent", choices=["codex", "claude"], default=None,
                        help="the agent to install for (default: the configured transport's)")
    assets.add_argument("--codex-home", type=Path, default=None,
                        help="Codex home to install into (default: $CODEX_HOME or ~/.codex)")
    assets.add_argument("--claude-home", type=Path, default=None,
                        help="Claude Code home to install into "
                             "(default: $CLAUDE_CONFIG_DIR or ~/.claude)")

    from maestro.operator.commands import register

    register(add)
    if only is not None and only not in sub.choices:
        return build_parser()
    return parser


def cmd_assets(args: argparse.Namespace) -> int:
    from maestro.assets.homes import AssetAgent, agent_for, install_for
    from maestro.assets.shipped import AssetsError, assets_root, check_all
    from maestro.config.service import SCRIPTED_AGENT, load_config

    root = assets_root()
    if args.action == "check":
        problems = check_all(root)
        if problems:
            raise AssetsError("\n".join(str(p) for p in problems))
        print(f"assets ok ({root})")
        return 0
    # A home named on the command line names its agent; else the configured transport's
    # (outside a project: the defaults, Codex).
    agent: AssetAgent | None = args.agent or (
        "codex" if args.codex_home else "claude" if args.claude_home
        else None)
    if agent is None:
        configured = load_config(getattr(args, "config", None)).agent
        command = None if configured.command == SCRIPTED_AGENT else configured.command
        agent = agent_for(configured.transport, command)
    home = args.codex_home if agent == "codex" else args.claude_home
    for path in install_for(agent, home, root):
        print(f"installed {path}")
    return 0


def cmd_protocol(args: argparse.Namespace) -> int:
    """Probe the named command, else the configured transport's (``codex``, ``claude`` or
    ``claude-agent-acp`` when ``[agent] command`` is left at the scripted agent)."""
    from maestro.agents.probes import probe
    from maestro.config.service import SCRIPTED_AGENT

    named = {"app-server": args.codex, "claude-code": args.claude, "acp": args.acp}
    for transport, command in named.items():
        if command:
            return probe(command, transport)
    agent = _config(args).agent
    default = {"claude-code": "claude", "acp": "claude-agent-acp"}.get(agent.transport, "codex")
    return probe(default if agent.command == SCRIPTED_AGENT else agent.command, agent.transport)


#: A parser built ahead of need (by the warm-worker zygote, before it forks lanes); the
#: next :func:`main` takes it, so a forked lane does not build it again (30-50 ms there).
_BUILT: list[argparse.ArgumentParser] = []


def build_parser_ahead() -> None:
    """Build the parser now for the next :func:`main` in this process (or its forks)."""
    _BUILT[:] = [build_parser()]


def main(argv: Sequence[str] | None = None) -> None:
    from maestro.cli_subset import command_named

    given = sys.argv[1:] if argv is None else argv
    parser = _BUILT.pop() if _BUILT else build_parser(command_named(given))
    args = parser.parse_args(argv)
    if argv is None and args.handler is cmd_lane:  # this process's own lane (process/start.py)
        from maestro.process.start import pause_collector

        pause_collector()
    try:
        code = args.handler(args)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (`maestro issue show X | head`): a normal end, not a fault.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 0
    except MaestroError as exc:
        print(f"maestro: error: {exc}", file=sys.stderr)
        code = exc.exit_code
    except OSError as exc:
        if (why := exhausted(exc)) is None:
            raise
        print(f"maestro: error: {why}, then run the command again", file=sys.stderr)
        code = 1
    except KeyboardInterrupt:
        print("maestro: interrupted", file=sys.stderr)
        code = 130
    if argv is None:  # this process's own entry point (maestro/process/exit.py)
        from maestro.process.exit import skip_heap_teardown

        skip_heap_teardown()
    sys.exit(code)
