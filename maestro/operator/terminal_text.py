"""Text others wrote, made safe to print on the operator's terminal.

Agent messages, tool results, failure reasons, issue titles from Linear or GitHub and PR
titles reach ``maestro logs``, ``maestro status`` and the live view. A terminal obeys the
control characters in what it prints: an ESC starts a sequence that can clear the screen,
move the cursor, set the window title, write the clipboard (OSC 52) or hide what follows, a
carriage return overwrites the line, and bidirectional overrides reorder it. So an agent
could have printed a fake "✓ validate" over what really happened. rich does not remove
them (it drops only BEL), and it reads ``[...]`` in a string as its own markup.

:func:`visible` replaces every C0 and C1 control character but tab and newline with a
visible stand-in of the same length (its "control picture", ␛ for ESC, or U+FFFD), and
the bidirectional controls with U+FFFD, so styles laid over the text keep their places;
:func:`markup_safe` does that and escapes rich markup, for text put into a markup string.
The dashboard escapes for HTML instead (its own templates).
"""

from __future__ import annotations

from rich.markup import escape
from rich.text import Text

from maestro.visible_text import visible

__all__ = ["markup_safe", "plain", "visible", "visible_data"]


def markup_safe(text: object) -> str:
    """``str(text)`` made :func:`visible` and with rich markup escaped: for a markup
    string (``f"[bold]agent[/bold]: {markup_safe(message)}"``)."""
    return escape(visible(str(text)))


def plain(text: object, style: str = "") -> Text:
    """``str(text)`` made :func:`visible`, as a rich ``Text`` (never read as markup): for
    a table cell or a line that holds text others wrote."""
    return Text(visible(str(text)), style=style)


def visible_data(value: object) -> object:
    """``value`` (a snapshot: dicts, lists, scalars) with every string :func:`visible`."""
    if isinstance(value, str):
        return visible(value)
    if isinstance(value, dict):
        return {key: visible_data(item) for key, item in value.items()}
    if isinstance(value, list):
        return [visible_data(item) for item in value]
    return value
