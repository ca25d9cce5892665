"""A lane is opened only for an issue the tracker knows (DESIGN: errors people see).

``maestro lane REPRO-99`` with a typo used to create ``.maestro/lanes/REPRO-99/`` before
the claim asked the tracker, and that folder was listed by ``status`` and retried by every
tick. A lane folder is therefore created only after the tracker confirmed the identifier;
a lane that already has a folder is left to its phases (its issue may have been deleted,
which they handle).
"""

from __future__ import annotations

from maestro.config.service import ServiceConfig
from maestro.ids import check_identifier


def require_known_issue(config: ServiceConfig, identifier: str) -> None:
    """Raise :class:`~maestro.errors.UnknownIssueError` (exit 2) for an identifier the
    tracker does not have and no lane folder holds; writes nothing either way."""
    check_identifier(identifier)
    if (config.lanes_root / identifier).is_dir():
        return
    from maestro.config.template_checks import TemplateChecks
    from maestro.config.workflow import load_workflow, parse_workflow
    from maestro.errors import ConfigError
    from maestro.lanes.context import LAST_GOOD
    from maestro.trackers import make_tracker

    try:
        workflow = load_workflow(config.workflow_path, TemplateChecks.of_state(config.state_root))
    except ConfigError:  # a broken WORKFLOW.md: the last good copy, as the lanes use
        fallback = config.state_root / LAST_GOOD
        if not fallback.is_file():
            raise
        workflow = parse_workflow(fallback.read_text(), config.workflow_path)
    tracker = make_tracker(config, workflow)
    try:
        tracker.get(identifier)
    finally:
        tracker.close()
