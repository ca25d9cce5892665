#!/usr/bin/env python3
"""Create, advance, validate and summarise one bounded research run (the research skill).

The run file is the single record of a research run: the question, the method (named steps,
fixed up front), the budget, the sources read, the findings drawn from them and the verdict.
Every command reads the whole file, checks it, changes it and writes it back atomically, so
an interrupted agent never leaves half a run behind and a later attempt resumes from it.

Standard library only, so it runs in any lane worktree. Its checks mirror
``references/run.schema.json`` and add what a schema cannot say: the budget holds, every
finding cites a recorded source, the verdict cites findings and comes at the last step.

Exit codes: 0 done; 2 bad input (an unreadable or invalid run file, an unknown id, a
command the budget or the method does not allow), with one line per problem on stderr, each
naming the file and the key.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

FORMAT = "maestro-research-run/1"
CONFIDENCE = ("low", "medium", "high")
ACTIONS = ("source", "finding", "step")
SOURCE_ID = re.compile(r"^S[1-9][0-9]*$")
FINDING_ID = re.compile(r"^F[1-9][0-9]*$")
TOP_KEYS = ("format", "question", "method", "budget", "log", "sources", "findings", "verdict")
USAGE_ERROR = 2


class RunError(Exception):
    """Bad input: ``str()`` is every problem, one ``FILE: key: problem`` line each."""


# -- checks -----------------------------------------------------------------------------------


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _exact_keys(value: Any, where: str, required: tuple[str, ...]) -> list[str]:
    if not isinstance(value, dict):
        return [f"{where}: must be a JSON object"]
    found = [f"{where}.{key}: unknown key" for key in sorted(set(value) - set(required))]
    found += [f"{where}.{key}: missing" for key in required if key not in value]
    return found


def _shape(run: Any) -> list[str]:
    """Structural problems (what the JSON Schema also says), as ``key: problem`` strings."""
    if not isinstance(run, dict):
        return ["(root): the run file must hold a JSON object"]
    found = [f"{key}: unknown key" for key in sorted(set(run) - set(TOP_KEYS))]
    found += [f"{key}: missing" for key in TOP_KEYS if key not in run]
    if found:
        return found
    if run["format"] != FORMAT:
        found.append(f"format: must be {FORMAT!r} (got {run['format']!r})")
    if not _text(run["question"]):
        found.append("question: must be a non-empty string")
    method = run["method"]
    found += _exact_keys(method, "method", ("steps", "current"))
    if isinstance(method, dict) and "steps" in method:
        steps = method["steps"]
        if not (isinstance(steps, list) and steps and all(_text(s) for s in steps)):
            found.append("method.steps: must be a non-empty list of non-empty strings")
        elif len(set(steps)) != len(steps):
            found.append("method.steps: step names must be unique")
        elif "current" in method and method["current"] not in steps:
            found.append(f"method.current: must be one of the steps (got "
                         f"{method.get('current')!r})")
    found += _exact_keys(run["budget"], "budget", ("max_sources", "max_steps"))
    if isinstance(run["budget"], dict):
        for key in ("max_sources", "max_steps"):
            if key in run["budget"] and not _count(run["budget"][key]):
                found.append(f"budget.{key}: must be an integer of at least 1")
    found += _list_of(run["log"], "log", ("action", "step", "ref"), ())
    found += _list_of(run["sources"], "sources", ("id", "title", "locator", "step"), ())
    found += _list_of(run["findings"], "findings", ("id", "claim", "sources", "step"),
                      ("sources",))
    if not found:
        found += _values(run)
    verdict = run["verdict"]
    if verdict is not None:
        found += _exact_keys(verdict, "verdict", ("answer", "confidence", "findings"))
        if isinstance(verdict, dict):
            if "answer" in verdict and not _text(verdict["answer"]):
                found.append("verdict.answer: must be a non-empty string")
            if "confidence" in verdict and verdict["confidence"] not in CONFIDENCE:
                found.append(f"verdict.confidence: must be one of {', '.join(CONFIDENCE)}")
            if "findings" in verdict and not _ids(verdict["findings"]):
                found.append("verdict.findings: must be a non-empty list of finding ids")
    return found


def _ids(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(_text(v) for v in value)


def _list_of(items: Any, where: str, keys: tuple[str, ...], id_lists: tuple[str, ...]
             ) -> list[str]:
    if not isinstance(items, list):
        return [f"{where}: must be a list"]
    found: list[str] = []
    for index, item in enumerate(items):
        label = f"{where}[{index}]"
        problems = _exact_keys(item, label, keys)
        found += problems
        if problems:
            continue
        for key in keys:
            ok = _ids(item[key]) if key in id_lists else _text(item[key])
            if not ok:
                kind = "a non-empty list of ids" if key in id_lists else "a non-empty string"
                found.append(f"{label}.{key}: must be {kind}")
    return found


def _values(run: dict[str, Any]) -> list[str]:
    """Ids and actions spelled as the schema says (``S1``, ``F1``; source/finding/step)."""
    found = [f"log[{index}].action: must be one of {', '.join(ACTIONS)}"
             for index, entry in enumerate(run["log"]) if entry["action"] not in ACTIONS]
    for key, pattern in (("sources", SOURCE_ID), ("findings", FINDING_ID)):
        found += [f"{key}[{index}].id: must look like {pattern.pattern[1]}1 (got {item['id']!r})"
                  for index, item in enumerate(run[key]) if not pattern.match(item["id"])]
    return found


def _rules(run: dict[str, Any]) -> list[str]:
    """What the schema cannot say: budget, unique ids, citations, verdict at the last step."""
    found: list[str] = []
    budget, steps = run["budget"], run["method"]["steps"]
    if len(run["sources"]) > budget["max_sources"]:
        found.append(f"budget.max_sources: {len(run['sources'])} sources recorded, "
                     f"the budget allows {budget['max_sources']}")
    if len(run["log"]) > budget["max_steps"]:
        found.append(f"budget.max_steps: {len(run['log'])} steps taken, "
                     f"the budget allows {budget['max_steps']}")
    source_ids = [s["id"] for s in run["sources"]]
    finding_ids = [f["id"] for f in run["findings"]]
    for key, ids in (("sources", source_ids), ("findings", finding_ids)):
        for dup in sorted({i for i in ids if ids.count(i) > 1}):
            found.append(f"{key}: id {dup!r} is used more than once")
    for key in ("log", "sources", "findings"):
        for index, item in enumerate(run[key]):
            if item["step"] not in steps:
                found.append(f"{key}[{index}].step: {item['step']!r} is not a method step")
    for index, finding in enumerate(run["findings"]):
        for cited in finding["sources"]:
            if cited not in source_ids:
                found.append(f"findings[{index}].sources: cites {cited!r}, which is not a "
                             f"recorded source")
    verdict = run["verdict"]
    if verdict is not None:
        for cited in verdict["findings"]:
            if cited not in finding_ids:
                found.append(f"verdict.findings: cites {cited!r}, which is not a recorded "
                             f"finding")
        if run["method"]["current"] != steps[-1]:
            found.append(f"verdict: given at step {run['method']['current']!r}; a verdict "
                         f"comes at the last step, {steps[-1]!r}")
    return found


def problems(run: Any) -> list[str]:
    """Every way ``run`` is not a valid run file, as ``key: problem``; empty when valid."""
    return _shape(run) or _rules(run)


# -- the file ---------------------------------------------------------------------------------


def load(path: Path) -> dict[str, Any]:
    """The run in ``path``; RunError naming the file when it is unreadable or invalid."""
    try:
        run = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunError(f"{path}: no such run file (create it with `init`)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RunError(f"{path}: cannot read: {exc}") from None
    except ValueError as exc:
        raise RunError(f"{path}: invalid JSON: {exc}") from None
    found = problems(run)
    if found:
        raise RunError("\n".join(f"{path}: {p}" for p in found))
    return dict(run)


def save(path: Path, run: dict[str, Any]) -> None:
    """Write ``run`` to ``path`` atomically: a reader sees the old file or the new one."""
    found = problems(run)
    if found:  # a bug in this script, never written to disk
        raise RunError("\n".join(f"{path}: {p}" for p in found))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, staging = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(run, out, indent=2, ensure_ascii=False)
            out.write("\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(staging, path)
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        raise


# -- the commands -----------------------------------------------------------------------------


def new_run(question: str, steps: list[str], max_sources: int, max_steps: int
            ) -> dict[str, Any]:
    """A fresh run at the first step of its method."""
    return {"format": FORMAT, "question": question,
            "method": {"steps": steps, "current": steps[0] if steps else ""},
            "budget": {"max_sources": max_sources, "max_steps": max_steps},
            "log": [], "sources": [], "findings": [], "verdict": None}


def _spend(path: Path, run: dict[str, Any], action: str, ref: str) -> None:
    """Record one step, refusing it when the run is closed or the step budget is spent."""
    if run["verdict"] is not None:
        raise RunError(f"{path}: verdict: the run is concluded; start a new run file")
    limit = run["budget"]["max_steps"]
    if len(run["log"]) >= limit:
        raise RunError(f"{path}: budget.max_steps: all {limit} steps are spent; conclude "
                       f"with `verdict` or stop")
    run["log"].append({"action": action, "step": run["method"]["current"], "ref": ref})


def add_source(path: Path, run: dict[str, Any], title: str, locator: str) -> str:
    limit = run["budget"]["max_sources"]
    if len(run["sources"]) >= limit:
        raise RunError(f"{path}: budget.max_sources: all {limit} sources are recorded; "
                       f"work with what you have")
    ident = f"S{len(run['sources']) + 1}"
    _spend(path, run, "source", ident)
    run["sources"].append({"id": ident, "title": title, "locator": locator,
                           "step": run["method"]["current"]})
    return ident


def add_finding(path: Path, run: dict[str, Any], claim: str, cited: list[str]) -> str:
    known = {s["id"] for s in run["sources"]}
    for ident in cited:
        if ident not in known:
            raise RunError(f"{path}: sources: no source {ident!r}; record it with `source` "
                           f"first")
    ident = f"F{len(run['findings']) + 1}"
    _spend(path, run, "finding", ident)
    run["findings"].append({"id": ident, "claim": claim, "sources": cited,
                            "step": run["method"]["current"]})
    return ident


def next_step(path: Path, run: dict[str, Any], target: str | None) -> str:
    """Move the method forward: to the next step, or forward to ``target``; never back."""
    steps, current = run["method"]["steps"], run["method"]["current"]
    here = steps.index(current)
    if target is None:
        if here == len(steps) - 1:
            raise RunError(f"{path}: method.current: {current!r} is the last step; "
                           f"conclude with `verdict`")
        target = steps[here + 1]
    elif target not in steps:
        raise RunError(f"{path}: method.steps: no step {target!r} (steps: "
                       f"{', '.join(steps)})")
    elif steps.index(target) <= here:
        raise RunError(f"{path}: method.current: cannot move from {current!r} to "
                       f"{target!r}; the method only moves forward")
    _spend(path, run, "step", target)
    run["method"]["current"] = target
    return target


def conclude(path: Path, run: dict[str, Any], answer: str, confidence: str,
             cited: list[str]) -> None:
    steps = run["method"]["steps"]
    if run["verdict"] is not None:
        raise RunError(f"{path}: verdict: the run is already concluded")
    if run["method"]["current"] != steps[-1]:
        raise RunError(f"{path}: method.current: at {run['method']['current']!r}; move to "
                       f"the last step, {steps[-1]!r}, before the verdict")
    known = {f["id"] for f in run["findings"]}
    for ident in cited:
        if ident not in known:
            raise RunError(f"{path}: findings: no finding {ident!r}")
    run["verdict"] = {"answer": answer, "confidence": confidence, "findings": cited}


def summary(run: dict[str, Any]) -> str:
    """A Markdown summary to paste into a comment or a PR description."""
    steps, current = run["method"]["steps"], run["method"]["current"]
    budget = run["budget"]
    method = " → ".join(f"**{s}**" if s == current else s for s in steps)
    lines = [f"# Research: {run['question']}", "",
             f"- method: {method}",
             f"- budget: {len(run['sources'])}/{budget['max_sources']} sources, "
             f"{len(run['log'])}/{budget['max_steps']} steps", "", "## Sources", ""]
    lines += [f"- {s['id']}: {s['title']} ({s['locator']})" for s in run["sources"]] or ["- none"]
    lines += ["", "## Findings", ""]
    lines += [f"- {f['id']}: {f['claim']} [{', '.join(f['sources'])}]"
              for f in run["findings"]] or ["- none"]
    lines += ["", "## Verdict", ""]
    verdict = run["verdict"]
    if verdict is None:
        lines.append(f"- open (at step {current!r})")
    else:
        lines.append(f"- {verdict['answer']} (confidence: {verdict['confidence']}; "
                     f"from {', '.join(verdict['findings'])})")
    return "\n".join(lines) + "\n"


# -- the command line -------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    init = sub.add_parser("init", help="create a run file (refuses to overwrite one)")
    init.add_argument("--question", required=True)
    init.add_argument("--step", dest="steps", action="append", required=True,
                      help="one method step, in order (repeat for each)")
    init.add_argument("--max-sources", type=int, required=True)
    init.add_argument("--max-steps", type=int, required=True,
                      help="how many recorded actions (sources, findings, step moves) at most")
    source = sub.add_parser("source", help="record a source read at the current step")
    source.add_argument("--title", required=True)
    source.add_argument("--locator", required=True, help="URL, or repository-relative path")
    finding = sub.add_parser("finding", help="record a finding citing recorded sources")
    finding.add_argument("--claim", required=True)
    finding.add_argument("--source", dest="sources", action="append", required=True,
                         help="a source id such as S1 (repeat for each)")
    step = sub.add_parser("step", help="move the method to its next step")
    step.add_argument("--to", default=None, help="move forward to this named step instead")
    verdict = sub.add_parser("verdict", help="conclude the run at its last step")
    verdict.add_argument("--answer", required=True)
    verdict.add_argument("--confidence", required=True, choices=CONFIDENCE)
    verdict.add_argument("--finding", dest="findings", action="append", required=True,
                         help="a finding id such as F1 (repeat for each)")
    sub.add_parser("validate", help="check the run file; exit 2 with one line per problem")
    sub.add_parser("summary", help="print the run as Markdown")
    for command in sub.choices.values():
        command.add_argument("run", type=Path, help="the run file (JSON)")
    return parser


def run_command(args: argparse.Namespace) -> str:
    """Carry out one command; returns what to print; RunError on bad input."""
    path: Path = args.run
    if args.command == "init":
        if path.exists():
            raise RunError(f"{path}: already exists; a run file is never overwritten")
        run = new_run(args.question, args.steps, args.max_sources, args.max_steps)
        found = problems(run)
        if found:
            raise RunError("\n".join(f"{path}: {p}" for p in found))
        save(path, run)
        return f"{path}: created at step {run['method']['current']!r}"
    run = load(path)
    if args.command == "validate":
        state = "concluded" if run["verdict"] is not None else "open"
        return f"{path}: run ok ({state}, step {run['method']['current']!r})"
    if args.command == "summary":
        return summary(run).rstrip("\n")
    if args.command == "source":
        result = add_source(path, run, args.title, args.locator)
    elif args.command == "finding":
        result = add_finding(path, run, args.claim, args.sources)
    elif args.command == "step":
        result = next_step(path, run, args.to)
    else:
        conclude(path, run, args.answer, args.confidence, args.findings)
        result = "verdict"
    save(path, run)
    return result


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        print(run_command(args))
    except RunError as exc:
        print(str(exc), file=sys.stderr)
        return USAGE_ERROR
    except OSError as exc:
        print(f"{args.run}: cannot write: {exc.strerror or exc}", file=sys.stderr)
        return USAGE_ERROR
    return 0


if __name__ == "__main__":
    sys.exit(main())
