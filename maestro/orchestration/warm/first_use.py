"""First-use work a zygote does once so that no lane forked from it pays it.

A lane process parses WORKFLOW.md and renders the prompt before its first git call; the
first time a process does either, libraries build what they then keep: Liquid compiles
its lexer's regular expression (cached per environment), ``re`` compiles the front
matter's patterns, pydantic and TOML and YAML set up their first validation and parse.
That took about 9 ms of the first parse in a process that had imported everything (under
1 ms each time after), and a forked lane starts from the zygote's memory.

:func:`warm` does the same work on text that is part of maestro's code (the workflow
``maestro init`` writes, with front matter in TOML and in YAML, a prompt rendered for a
made-up issue, a state move and a comment on that issue's text in memory), never on a file
of the repository: nothing a person or an agent wrote reaches the zygote, and what it
keeps is the libraries' own caches of maestro's constant text. The one file it reads is
maestro's own default pipeline (``pipelines/lane.yaml`` of the install, compiled ahead
and kept by its stat signature: a lane that finds the file changed compiles it again; a
repository's own pipeline is never compiled here). Parsing is pure (nothing is written;
the template check's on-disk memo is not used), so a lane does exactly what it did
before, only sooner. Never raises: a failure here only means the lane does the work
itself, as without a zygote.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

__all__ = ["know_repository", "warm"]

#: A name for the made-up workflow; nothing is read from or written to it.
_SOURCE = Path("WORKFLOW.md")

_YAML_FRONT = """---
tracker:
  provider: files
  path: issues
  issue_prefix: WARM
---
Issue {{ issue.identifier }}: {{ issue.title }}{% if attempt %} (attempt {{ attempt }}){% endif %}
{% for label in issue.labels %}- {{ label }}
{% endfor %}"""


#: A made-up issue file (the files tracker's shape) and a name for it; never on disk.
_ISSUE_SOURCE = Path("issues/WARM-1.md")
_ISSUE = """---
title: warm up
state: Todo
labels: []
blocked_by: []
created_at: '2026-01-01T00:00:00+00:00'
---
A made-up issue.
"""


def warm() -> None:
    """Parse maestro's own workflow texts, render a prompt, edit a made-up issue's text
    and compile maestro's default pipeline, keeping nothing but the libraries' caches and
    that compiled pipeline (see the module's docstring)."""
    with contextlib.suppress(Exception):  # the lane does it itself then
        from maestro.config.prompt import render_prompt
        from maestro.config.workflow import parse_workflow
        from maestro.model import Issue
        from maestro.scaffold.repository import WORKFLOW_TEMPLATE

        toml_text = WORKFLOW_TEMPLATE.format(prefix="WARM", base="main", validation="[]")
        issue = Issue(id="warm", identifier="WARM-1", title="warm up", state="Todo",
                      labels=("a",))
        for text in (toml_text, _YAML_FRONT):
            workflow = parse_workflow(text, _SOURCE)
            render_prompt(workflow.body, _SOURCE, issue, None, workflow.body_line)
    with contextlib.suppress(Exception):
        _tracker_edit()
    with contextlib.suppress(Exception):
        from maestro.pipeline.files import default_pipeline_path
        from maestro.pipeline.spec import compile_ahead

        compile_ahead(default_pipeline_path())


def _tracker_edit() -> None:
    """A state move and a comment on a made-up issue file's text, in memory: the first
    round-trip YAML dump in a process compiles ruamel.yaml's resolver patterns (about
    10 ms), which every lane's first tracker write paid."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    from maestro.trackers.files import comment_entry, edited

    def change(data: CommentedMap) -> None:
        data["state"] = "In Progress"
        data["comments"] = CommentedSeq([comment_entry(
            1, "maestro", "2026-01-01T00:00:00+00:00", "**maestro** · warm\n\n- `a`: b\n")])

    edited(_ISSUE_SOURCE, _ISSUE, change)


def know_repository(root: Path) -> None:
    """List, once, the config key names every lane forked from this zygote asks for first
    in ``root`` (the lanes' repository, the zygote's working directory): what its guarded
    git environment is built from. The answer goes into the per-process memo a lane would
    have put it in itself (:mod:`maestro.containment.config_listing`), so a lane forked
    later finds it there and lists again only when that memo's own key, the bytes of every
    config file read at that moment, no longer matches, exactly as for an answer it had got
    itself. git only lists (it runs nothing). The operator's identity read on the way (for
    the environment) is dropped again: a lane reads it itself, as before. Never raises."""
    from maestro.containment import gitguard

    try:
        gitguard.config_keys(root)
    except Exception:  # the lane asks itself
        pass
    finally:
        gitguard.operator_identity.cache_clear()
