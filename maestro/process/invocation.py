"""How a person runs this very ``maestro`` again, for the commands maestro prints.

After the README's install (``.venv/bin/pip install -e .``) the console script is
``.venv/bin/maestro`` and not on ``PATH``; a hint that says ``maestro status`` would fail.
Hints therefore name the executable that is running now, unless ``maestro`` on ``PATH`` is
that same file.
"""

from __future__ import annotations

import shlex
import shutil
import sys
from pathlib import Path

__all__ = ["maestro_command"]


def maestro_command(argv0: str | None = None, path: str | None = None) -> str:
    """``maestro`` when that resolves to the running script, else the script's absolute
    path, else ``<python> -m maestro`` (run as a module); quoted for a shell."""
    script = Path(argv0 if argv0 is not None else sys.argv[0])
    if script.name != "maestro" or not script.is_file():
        return f"{shlex.quote(sys.executable)} -m maestro"
    on_path = shutil.which("maestro", path=path)
    if on_path is not None and Path(on_path).resolve() == script.resolve():
        return "maestro"
    return shlex.quote(str(script.absolute()))
