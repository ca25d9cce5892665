"""The environment of every process maestro starts that runs code the agent wrote.

The agent, the validation commands and the local forge's checks run code from the
worktree; whatever is in their environment is in the agent's reach. So it is an allow list,
never a deny list: a secret maestro has never heard of (a cloud key, a package token) stays
out unless the operator names it in ``[agent] env_passthrough``.

Kept: ``PATH`` (its absolute entries only: a relative one would name a folder of the
worktree the command runs in, :mod:`~maestro.containment.exec_path`), ``HOME``,
``USER``/``LOGNAME``, ``SHELL``, ``TERM``, ``TMPDIR``, ``TZ``, locale (``LANG``,
``LANGUAGE``, ``LC_*``), ``CODEX_HOME`` (the agent's own home, no secret),
the ``MAESTRO_*`` lane variables, a git identity (``GIT_AUTHOR_*``/``GIT_COMMITTER_*``, always
set so a moved ``HOME`` never breaks a commit), and the operator's named variables. The
service's tracker and forge secrets are never passed, even when named.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from maestro.containment.exec_path import absolute_path
from maestro.containment.gitguard import identity_env

BASE_NAMES = frozenset({
    "PATH", "HOME", "USER", "LOGNAME", "SHELL", "TERM", "TMPDIR", "TZ", "LANG", "LANGUAGE",
    "CODEX_HOME",
})
BASE_PREFIXES = ("LC_", "MAESTRO_")


def child_env(passthrough: Iterable[str] = (), secrets: Iterable[str] = (),
              source: Mapping[str, str] | None = None) -> dict[str, str]:
    """The allow-listed environment; ``source`` defaults to maestro's own.

    ``passthrough`` names extra variables to keep (absent ones are skipped); a name in
    ``secrets`` is dropped whatever else says to keep it."""
    src = os.environ if source is None else source
    named = set(passthrough)
    denied = set(secrets)
    env = {k: v for k, v in src.items()
           if k not in denied and (k in BASE_NAMES or k in named or k.startswith(BASE_PREFIXES))}
    env["PATH"] = absolute_path(env.get("PATH"))  # never a folder of the worktree (exec_path)
    env.update(identity_env(src))
    return env
