"""Build the ``maestro`` parser for the one command a process runs.

Building the whole command line (about 25 subcommands, 150 options: an
``ArgumentParser`` per subcommand, ``gettext`` look-ups for every help string) cost 24 ms
of CPU per process on the development machine at load 4, about what the interpreter's own
start-up costs, paid twice by every cold lane (``maestro lane`` to the review wait, then to
cleanup). When the first argument names a command, :func:`maestro.cli.build_parser` builds
the top-level options and that command's parser only (1.3 ms); every other command's
set-up calls go to :data:`LEFT_OUT`, which takes them and builds nothing. Whatever the
process parses then parses as with the whole parser: the command's own options, help and
errors come from the same parser object, and the top-level usage line names ``COMMAND``
either way. Anything else (``--help``, a global option first, a name that is not a
command) builds the whole parser.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any, cast

__all__ = ["LEFT_OUT", "command_named"]


class _LeftOut:
    """Stands in for the parser of a command left out: every method call returns it."""

    def __getattr__(self, name: str) -> Callable[..., Any]:
        return self._take

    def _take(self, *args: Any, **kwargs: Any) -> _LeftOut:
        return self


#: Typed as a parser for the builders that configure it; it never parses anything.
LEFT_OUT = cast(argparse.ArgumentParser, _LeftOut())


def command_named(argv: Sequence[str]) -> str | None:
    """The command the arguments start with, if they start with one (not an option)."""
    return argv[0] if argv and not argv[0].startswith("-") else None
