"""The prompt template: the ``WORKFLOW.md`` body rendered as strict Liquid (Symphony §5.4, §12).

One renderer serves both front matter styles. maestro's own ``{{ issue.title }}`` bodies are
already Liquid output statements; Symphony's bodies add tags (``{% if attempt %}``) and
filters (``{{ issue.title | upcase }}``). Two names are defined, as Symphony defines them:

* ``issue`` — the normalized issue with Symphony's field names (:data:`ISSUE_FIELDS`);
* ``attempt`` — nil on a lane's first run, then the 1-based retry count (lane attempt 2
  renders ``1``), so ``{% if attempt %}`` is true exactly on retries and continuations.

Strictness is checked twice. :func:`check_template` runs when the file is loaded: a syntax
error, a name other than those two, an ``issue.<field>`` Symphony does not define or a filter
Liquid does not know is refused there (so the CLI exits 2 before any lane starts, in any
branch of any ``{% if %}``). :func:`render_prompt` renders with ``StrictUndefined`` and strict
filters, for what only the data can reveal (``issue.blocked_by[0].nme``). Every error is one
line, ``<file>: line <n>: template: <what>``, with the line counted in the whole file.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from maestro.errors import ConfigError
from maestro.model import Issue

if TYPE_CHECKING:  # Liquid is imported when a template is parsed, not with this module
    from liquid import BoundTemplate, Environment
    from liquid.exceptions import LiquidError

#: Symphony's normalized issue (SPEC §4.1.1, ``tracker/issue.ex``): every field the template
#: may name. Fields maestro's trackers do not supply are nil.
ISSUE_FIELDS = ("id", "native_ref", "identifier", "title", "description", "priority", "state",
                "branch_name", "url", "assignee_id", "labels", "blocked_by", "dispatchable",
                "created_at", "updated_at")
TEMPLATE_NAMES = ("issue", "attempt")



@functools.cache
def environment() -> Environment:
    """The strict Liquid environment, built (and Liquid imported, about a tenth of a
    lane process's start-up) on first use: a process that only reads the policy of an
    already checked body (:mod:`maestro.config.template_checks`) never pays for it."""
    from liquid import Environment, StrictUndefined

    return Environment(undefined=StrictUndefined, strict_filters=True)


def _liquid_error_type() -> type[LiquidError]:
    from liquid.exceptions import LiquidError

    return LiquidError


class Labels(tuple[str, ...]):
    """The issue's labels: iterable, indexable and ``contains``-able like a Liquid array, and
    printed ``a, b`` by ``{{ issue.labels }}`` (maestro's rendering, kept) instead of the
    bare concatenation Liquid gives a plain array."""

    def __str__(self) -> str:
        return ", ".join(self)


def template_attempt(lane_attempt: int) -> int | None:
    """Pure: the ``attempt`` a template sees for maestro's 1-based lane attempt (None on the
    first run, the retry count after it, as Symphony's retry queue counts)."""
    return None if lane_attempt <= 1 else lane_attempt - 1


def issue_variables(issue: Issue) -> dict[str, Any]:
    """``issue`` as Symphony's templates see it: its field names, labels lower-cased, blockers
    as ``{id, identifier, state}`` maps, empty text as nil (so ``{% if issue.description %}``
    is false for an issue without one) and timestamps as ISO 8601 strings."""
    return {
        "id": issue.id,
        "native_ref": None,
        "identifier": issue.identifier,
        "title": issue.title,
        "description": issue.description or None,
        "priority": issue.priority,
        "state": issue.state,
        "branch_name": None,
        "url": issue.url or None,
        "assignee_id": None,
        "labels": Labels(label.lower() for label in issue.labels),
        "blocked_by": [{"id": None, "identifier": blocker,
                        "state": issue.blocker_states.get(blocker)}
                       for blocker in issue.blocked_by],
        "dispatchable": True,
        "created_at": issue.created_at.isoformat() if issue.created_at else None,
        "updated_at": None,
    }


def _line(body: str, index: int, first_line: int) -> int:
    return first_line + body.count("\n", 0, max(index, 0))


def _fail(source: Path, line: int | None, what: str) -> ConfigError:
    where = f"line {line}: " if line is not None else ""
    return ConfigError(f"{source}: {where}template: {what}")


#: A Liquid tag or output statement, for finding the one an error came from.
_MARKUP = re.compile(r"\{%.*?%\}|\{\{.*?\}\}", re.DOTALL)


def _failing_markup(body: str, message: str) -> int | None:
    """Where the tag or output statement that raised ``message`` starts, for the errors
    Liquid reports without a position (a bad expression inside a tag): the first prefix of
    ``body`` ending after a tag that fails with the same message ends with the culprit."""
    for markup in _MARKUP.finditer(body):
        try:
            environment().from_string(body[:markup.end()])
        except _liquid_error_type() as exc:
            if str(exc.message) == message:
                return markup.start()
    return None


def _liquid_error(exc: LiquidError, source: Path, first_line: int,
                  body: str | None = None) -> ConfigError:
    from liquid.exceptions import TemplateNotFoundError

    context = exc.context()
    line = first_line + context[0] - 1 if context else None
    if line is None and body is not None:
        index = _failing_markup(body, str(exc.message))
        line = _line(body, index, first_line) if index is not None else None
    message = " ".join(str(exc.message).split())  # one line, whatever Liquid said
    if isinstance(exc, TemplateNotFoundError):
        message = f"partial template {message!r} not found (a WORKFLOW.md body includes none)"
    return _fail(source, line, message)


def _shown(segments: list[Any]) -> str:
    text = ""
    for segment in segments:
        text += f"[{segment}]" if isinstance(segment, int) else (
            f".{segment}" if text else str(segment))
    return text


def parse_template(body: str, source: Path, first_line: int = 1) -> BoundTemplate:
    """Parse ``body`` (which starts on line ``first_line`` of ``source``); raises
    :class:`ConfigError` for a syntax error (an unknown tag, an unclosed ``{% if %}``)."""
    try:
        return environment().from_string(body)
    except _liquid_error_type() as exc:
        raise _liquid_error(exc, source, first_line, body) from None


def check_template(body: str, source: Path, first_line: int = 1) -> None:
    """Refuse, at load time, every name and filter the template could never render: whole
    template, every branch. Raises :class:`ConfigError` naming the first one and its line."""
    try:
        analysis = parse_template(body, source, first_line).analyze()
    except _liquid_error_type() as exc:  # {% include %} of a partial that cannot exist
        raise _liquid_error(exc, source, first_line) from None
    problems: list[tuple[int, str]] = []
    for name, uses in analysis.globals.items():
        for use in uses:
            segments = list(use.segments)
            field = segments[1] if len(segments) > 1 else None
            if name not in TEMPLATE_NAMES:
                known = f"the names are {' and '.join(TEMPLATE_NAMES)}"
            elif name == "issue" and isinstance(field, str) and field not in ISSUE_FIELDS:
                known = f"issue has {', '.join(ISSUE_FIELDS)}"
            else:
                continue
            problems.append((use.span.index, f"unknown template variable "
                                             f"{{{{ {_shown(segments)} }}}} ({known})"))
    for name, spans in analysis.filters.items():
        if name not in environment().filters:
            problems += [(span.index, f"unknown template filter {name!r}") for span in spans]
    if problems:
        index, what = min(problems)
        raise _fail(source, _line(body, index, first_line), what)


def render_prompt(body: str, source: Path, issue: Issue, attempt: int | None,
                  first_line: int = 1) -> str:
    """Render ``body`` for ``issue``; ``attempt`` is the template's value (see
    :func:`template_attempt`). Raises :class:`ConfigError` (one line) on any Liquid error."""
    template = parse_template(body, source, first_line)
    try:
        return str(template.render(issue=issue_variables(issue), attempt=attempt))
    except _liquid_error_type() as exc:
        raise _liquid_error(exc, source, first_line) from None
