"""A hidden mark on each comment maestro posts over the network, to confirm a lost answer.

GitHub's ``addComment`` and Linear's ``commentCreate`` store a comment whose HTTP answer a
proxy, a reset connection or a client timeout then loses; sending it again posts it twice
(breaker 23). Each comment therefore carries ``<!-- maestro:write TOKEN -->``, a random
token, and after a lost answer the adapter reads the comments for it before sending again
(:func:`maestro.trackers.http.write_once`). The mark is an HTML comment, like maestro's
``maestro:state`` blocks: GitHub and Linear do not show it.
"""

from __future__ import annotations

import re
import secrets

__all__ = ["marked", "split"]

_PREFIX = "<!-- maestro:write "
_MARK = re.compile(r"\n*<!-- maestro:write [0-9a-f]{16} -->\s*\Z")


def marked(body: str) -> tuple[str, str]:
    """``(body with a new mark, the mark)``; the mark is the whole HTML comment."""
    mark = f"{_PREFIX}{secrets.token_hex(8)} -->"
    return f"{body.rstrip()}\n\n{mark}", mark


def split(body: str) -> tuple[str, str]:
    """``(the body as written, its mark or "")``: adapters show comments without the mark
    (``Comment.body``) and keep it beside (``Comment.write_mark``)."""
    found = _MARK.search(body)
    if found is None:
        return body, ""
    return body[:found.start()], found.group(0).strip()
