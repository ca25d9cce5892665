"""The local forge's mergeability answers, kept while nothing they depend on changes.

Every poll tick asks the local forge whether each open PR merges cleanly into its base
(``git merge-tree`` in ``origin``: one git process per PR in review), and a refresh-
triggered dispatch waits for that tick. The answer for two commits is fixed by the
commits themselves (content-addressed: the trees, the ``.gitattributes`` they hold and the
history between them cannot change) and by what git reads besides them in ``origin``: its
``config``, ``info/attributes``, ``shallow`` and ``info/grafts`` (maestro's git reads no
global or system config, no attributes file in the home folder, and has no merge driver,
see :mod:`maestro.containment.gitguard`). So an answer is keyed by ``(origin, base commit,
head commit)`` and stored with the stat identity (device, inode, size, mtime, ctime) of
those files, and never kept while origin's config includes other files; any change to one
of them, or a new commit on either side, asks git again. Only full commit names are kept
(a name that is not a commit id could move). The memo lives in the process's memory,
bounded to :data:`LIMIT` answers.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

from maestro.fsutil import StatIdentity, stat_identity
from maestro.ids import FULL_HASH

#: Answers kept per process (oldest dropped first): far more than the PRs in review.
LIMIT = 2048

#: ``(mergeable, conflict text)`` as the local forge records it.
Answer = tuple[bool, str]
_Key = tuple[Path, str, str]
_memo: OrderedDict[_Key, tuple[tuple[StatIdentity | None, ...], Answer]] = OrderedDict()


#: Files in ``origin`` that can change a merge's result besides the two commits: its config,
#: its attributes, and the files that cut or rewire history.
INPUT_FILES = ("config", "info/attributes", "shallow", "info/grafts")


def _inputs(origin: Path) -> tuple[StatIdentity | None, ...] | None:
    """The stat identity of each of :data:`INPUT_FILES` (None for an absent one); None as a
    whole when the answer cannot be kept: a config that includes other files (their
    content can change while the config's stat does not) or a file that cannot be read."""
    found: list[StatIdentity | None] = []
    for name in INPUT_FILES:
        try:
            found.append(stat_identity((origin / name).stat()))
        except FileNotFoundError:
            found.append(None)
        except OSError:
            return None
    try:
        if b"include" in (origin / "config").read_bytes().lower():
            return None
    except FileNotFoundError:
        pass
    except OSError:
        return None
    return tuple(found)


def recall(origin: Path, base: str, head: str) -> Answer | None:
    """The answer for merging ``head`` into ``base`` if it is known and still holds."""
    if not (FULL_HASH.fullmatch(base) and FULL_HASH.fullmatch(head)):
        return None
    kept = _memo.get((origin, base, head))
    if kept is None:  # a miss reads nothing: the caller's snapshot is the one read
        return None
    inputs = _inputs(origin)
    if inputs is None or kept[0] != inputs:
        return None
    return kept[1]


def keep(origin: Path, base: str, head: str, answer: Answer,
         inputs: tuple[StatIdentity | None, ...] | None) -> None:
    """Remember ``answer``; ``inputs`` is :func:`snapshot` taken before git was asked, so a
    change made while git ran is never stored as seen."""
    if inputs is None or not (FULL_HASH.fullmatch(base) and FULL_HASH.fullmatch(head)):
        return
    _memo[(origin, base, head)] = (inputs, answer)
    _memo.move_to_end((origin, base, head))
    while len(_memo) > LIMIT:
        _memo.popitem(last=False)


def snapshot(origin: Path) -> tuple[StatIdentity | None, ...] | None:
    """The inputs' identities now (take it before asking git); None: do not keep."""
    return _inputs(origin)
