#!/usr/bin/env python3
"""Render and validate ``maestro-checkpoint`` comment blocks (the execution-state skill).

Standard library only, so an agent can run it in any lane worktree without installing
anything; maestro's own parser (``maestro.comments.checkpoints``) reads what this writes.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

PHASES = ("plan", "implement", "verify", "handoff", "repair", "blocked")
TEXT_FIELDS = ("focus", "next_action")
LIST_FIELDS = ("blockers", "evidence", "verification")
ALLOWED = {"kind", "phase", *TEXT_FIELDS, *LIST_FIELDS}
BLOCK = re.compile(r"```maestro-checkpoint[ \t]*\r?\n(.*?)```", re.DOTALL)
HOST_PATH = re.compile(r"(?<![\w.~/:-])(?:/[A-Za-z0-9_.-]+/[^\s`'\")]*|[A-Za-z]:\\\S*)")


def problems(value: Any) -> list[str]:
    """Every way ``value`` breaks the checkpoint format; empty when it is valid."""
    if not isinstance(value, dict):
        return ["the block must be a JSON object"]
    found = [f"unknown field {key!r}" for key in sorted(set(value) - ALLOWED)]
    if value.get("kind", "checkpoint") != "checkpoint":
        found.append("kind must be 'checkpoint'")
    if value.get("phase") not in PHASES:
        found.append(f"phase must be one of {', '.join(PHASES)} (got {value.get('phase')!r})")
    for key in TEXT_FIELDS:
        text = value.get(key)
        if not isinstance(text, str) or not text.strip():
            found.append(f"{key} must be a non-empty string")
    for key in LIST_FIELDS:
        items = value.get(key)
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            found.append(f"{key} must be a list of strings")
    for key in sorted(set(value) & ALLOWED):
        if HOST_PATH.search(json.dumps(value[key])):
            found.append(f"{key} contains an absolute host path; use repository-relative paths")
    return found


def render(checkpoint: dict[str, Any]) -> str:
    """A comment body holding ``checkpoint``; raises ValueError when it is invalid."""
    found = problems(checkpoint)
    if found:
        raise ValueError("; ".join(found))
    block = json.dumps({"kind": "checkpoint", **checkpoint}, sort_keys=True)
    return f"Progress checkpoint ({checkpoint['phase']}).\n\n```maestro-checkpoint\n{block}\n```\n"


def extract(body: str) -> list[Any]:
    """The checkpoint blocks of a comment body, oldest first; unparsable JSON is a string."""
    result: list[Any] = []
    for raw in BLOCK.findall(body):
        try:
            result.append(json.loads(raw))
        except ValueError as exc:
            result.append(f"invalid JSON: {exc}")
    return result


def validate(body: str) -> list[str]:
    """Problems of the last checkpoint block in ``body`` (there must be one)."""
    blocks = extract(body)
    if not blocks:
        return ["no ```maestro-checkpoint block found"]
    last = blocks[-1]
    return [last] if isinstance(last, str) else problems(last)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("render", help="print a checkpoint comment body")
    make.add_argument("--phase", required=True, choices=PHASES)
    make.add_argument("--focus", required=True)
    make.add_argument("--next-action", required=True)
    for name in LIST_FIELDS:
        make.add_argument(f"--{name.rstrip('s')}", dest=name, action="append", default=[],
                          help=f"one entry of {name} (repeatable)")
    check = sub.add_parser("validate", help="check the last checkpoint block of a body")
    check.add_argument("file", help="file holding the comment body, or - for stdin")
    args = parser.parse_args(argv)
    if args.command == "render":
        fields = {"phase": args.phase, "focus": args.focus, "next_action": args.next_action,
                  **{name: getattr(args, name) for name in LIST_FIELDS}}
        try:
            sys.stdout.write(render(fields))
        except ValueError as exc:
            print(f"checkpoint: {exc}", file=sys.stderr)
            return 1
        return 0
    source = "<stdin>" if args.file == "-" else args.file
    body = sys.stdin.read() if args.file == "-" else Path(args.file).read_text()
    found = validate(body)
    for problem in found:
        print(f"{source}: {problem}", file=sys.stderr)
    if not found:
        print(f"{source}: checkpoint ok")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
