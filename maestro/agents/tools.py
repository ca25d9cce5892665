"""The issue-scoped dynamic tools served to the agent (SPEC-NOTES §6).

The agent holds no tracker or forge credentials: it acts on the world only through these
tools, and each is bound to the leased issue and the lane branch. A call that names another
issue, or forces a state only maestro may set, is a policy violation: refused, journaled,
and decisive — the session ends and the attempt goes the attention way with the refused call
named (docs/spec/tools.md). A call refused because a person stopped the lane (the issue was
cancelled, relabelled or removed) ends the session too.

Calls with side effects are idempotent within a run: an identical call already recorded in
``tools.jsonl`` returns the recorded result without repeating the side effect, so an agent
restarted after a crash cannot post the same comment twice.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from maestro.agents.errors import AgentError
from maestro.errors import ForgeError, LabelMissingError, TrackerError
from maestro.fsutil import append_jsonl, read_jsonl
from maestro.ids import iso_now
from maestro.process import faults
from maestro.statenames import plain_form, same_state
from maestro.visible_text import visible

MAX_BODY_CHARS = 65_536
TERMINAL_PATHS = ("review_handoff", "manual_attention", "review_repair")
_ABSOLUTE_HOST_PATH = re.compile(
    r"(?<![\w.~/:-])(?:/(?:home|root|tmp|Users|var|etc|opt|srv|private|mnt|work|workspace|usr)"
    r"/[^\s`'\")]*|[A-Za-z]:\\[^\s]*)"
)


def _schema(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {**properties, "issue": {
            "type": "string",
            "description": "Optional; if given it must be the leased issue's identifier.",
        }},
        "required": required,
        "additionalProperties": False,
    }


_STRING = {"type": "string"}

TOOL_SPECS: list[dict[str, Any]] = [
    {"name": "issue_comment", "description": "Post a comment on the leased issue.",
     "inputSchema": _schema({"body": _STRING}, ["body"])},
    {"name": "issue_transition",
     "description": "Move the leased issue to a workflow state (not the success state: that "
                    "is reached only through issue_review_handoff).",
     "inputSchema": _schema({"state": _STRING}, ["state"])},
    {"name": "issue_label_add", "description": "Add a label to the leased issue.",
     "inputSchema": _schema({"label": _STRING}, ["label"])},
    {"name": "lane_open_pr",
     "description": "Push the lane branch and open (or update) its pull request. Returns the "
                    "PR url. The agent never pushes itself.",
     "inputSchema": _schema({"title": _STRING, "body": _STRING}, ["title"])},
    {"name": "issue_review_handoff",
     "description": "Record that the lane's PR is ready for review.",
     "inputSchema": _schema({"pr_url": _STRING, "summary": _STRING}, ["pr_url", "summary"])},
    {"name": "issue_review_repair_complete",
     "description": "Record that review feedback has been addressed on the lane branch.",
     "inputSchema": _schema({"pr_url": _STRING, "summary": _STRING}, ["pr_url", "summary"])},
    {"name": "issue_terminal_finalize",
     "description": "End the run on one terminal path: review_handoff, manual_attention or "
                    "review_repair.",
     "inputSchema": _schema({"path": {"type": "string", "enum": list(TERMINAL_PATHS)}},
                            ["path"])},
]
TOOL_NAMES = tuple(spec["name"] for spec in TOOL_SPECS)
#: The marker of maestro's own comment blocks (``maestro.lanes.record.comments``), casefolded.
STATE_MARKER = "maestro:state"


def holds_state_marker(body: str) -> bool:
    """Whether ``body`` holds maestro's block marker in any spelling a tracker's rendering
    or Markdown round-trip could turn into it: HTML entities (``maestro&#58;state``, encoded
    twice too), Markdown backslash escapes (``maestro\\:state``), compatibility forms (a
    full-width colon), format characters (a zero-width space inside) and case. A comment
    the agent asks maestro to post goes out under maestro's own tracker identity, whose
    blocks are its records (breaker 18: untested whether Linear's round-trip decodes
    entities, so none is let through). Pure."""
    text = body
    for _ in range(3):
        text = html.unescape(text)
    return STATE_MARKER in plain_form(text).replace("\\", "").casefold()
_SIDE_EFFECTS = {"issue_comment", "issue_transition", "issue_label_add", "lane_open_pr"}


def dynamic_tools() -> list[dict[str, Any]]:
    """Tool specs in the shape ``thread/start`` expects."""
    return [{"type": "function", **spec} for spec in TOOL_SPECS]


class ToolRefused(Exception):
    """The call breaks the tool contract; the agent gets ``success: false`` and the reason."""


class StopSession(ToolRefused):
    """Refused, and the session must end now: the lane may not act any more (a person
    stopped it) — raised by the host's look-again guard."""


class HaltSession(StopSession):
    """The host settled the lane during the call (it took the attention path: a commit no
    session made, a remote head maestro did not push): the session ends, and the lane ends
    as the host decided, not as a failed attempt."""


class PolicyViolation(StopSession):
    """Refused as a breach of policy (another issue, a state only maestro may set); the
    attempt goes the attention way with the call named."""


class SessionStopped(AgentError):
    """Raised in the agent client when a tool call stopped the session; never retried."""

    error_class = "session_stopped"
    retryable = False


class ToolHost(Protocol):
    """What the lane lets the tools do; implemented by the lane, bound to one issue."""

    identifier: str
    success_state: str
    needs_attention_label: str

    def resolve_state(self, state: str) -> str | None:
        """The one configured spelling ``state`` means (maestro/statenames.py), or None."""

    def is_forbidden_state(self, state: str) -> bool: ...

    def reserved_label(self, label: str) -> str | None:
        """Why the agent may not add ``label`` (a person's decision), or None."""

    def post_comment(self, body: str) -> str: ...

    def transition(self, state: str) -> bool: ...

    def add_label(self, label: str) -> bool: ...

    def open_pr(self, title: str, body: str) -> str: ...

    def pr_url(self) -> str | None: ...

    def forbidden_paths(self) -> list[str]: ...


@dataclass
class Signals:
    """What the agent has declared in this attempt; decides the disposition."""

    handoff: dict[str, str] | None = None
    repair_complete: dict[str, str] | None = None
    finalize: list[str] = field(default_factory=list)
    attention_label: bool = False
    #: The agent tried to add the needs-attention label but the tracker has no such label.
    attention_label_missing: bool = False
    comments: int = 0
    violations: list[str] = field(default_factory=list)
    #: Every refused call, ``tool(args): reason``, newest last (shown when the attempt fails).
    refused: list[str] = field(default_factory=list)
    #: Set when a call stopped the session (:class:`StopSession`): the refused call and why.
    stop: str = ""
    #: Set when the host settled the lane during a call (:class:`HaltSession`).
    halted: str = ""
    #: Calls the tracker or the forge failed (an outage, not the agent's doing), newest
    #: last: an attempt that ends invalid because of one is the service's failure.
    service_failures: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "handoff": self.handoff,
            "repair_complete": self.repair_complete,
            "finalize": self.finalize,
            "attention_label": self.attention_label,
            "attention_label_missing": self.attention_label_missing,
            "comments": self.comments,
            "violations": self.violations,
            "refused": self.refused,
            "stop": self.stop,
            "halted": self.halted,
            "service_failures": self.service_failures,
        }


@dataclass(frozen=True)
class ToolAnswer:
    """The outcome of one tool call, before any protocol shapes it: ``ok`` is false for a
    refused or failed call, ``text`` is what the agent reads (``refused: …``/``failed: …``)."""

    ok: bool
    text: str


@dataclass(frozen=True)
class Verdict:
    """One of ``continue``, ``review_handoff``, ``manual_attention``, ``review_repair``,
    ``invalid`` with the reason."""

    kind: str
    reason: str = ""


def judge(signals: Signals, repair: bool = False) -> Verdict:
    """The disposition rules of SPEC-NOTES §2: exactly one complete terminal signal."""
    final = signals.finalize
    labelled = signals.attention_label or signals.attention_label_missing
    nothing = not (signals.handoff or signals.repair_complete or final or labelled)
    if nothing:
        return Verdict("continue")
    if len(set(final)) > 1:
        return Verdict("invalid", f"issue_terminal_finalize called with several paths: {final}")
    path = final[0] if final else None
    wants_attention = labelled or path == "manual_attention"
    wants_success = bool(signals.handoff or signals.repair_complete) or path in (
        "review_handoff", "review_repair")
    if wants_attention and wants_success:
        return Verdict("invalid", "both a review signal and manual attention were declared")
    if wants_attention:
        if not labelled:
            return Verdict("invalid", "manual_attention without the needs-attention label")
        if signals.comments == 0:
            return Verdict("invalid", "needs-attention label without a comment explaining it")
        if path != "manual_attention":
            return Verdict("invalid", "manual attention not finalized with "
                                      "issue_terminal_finalize(path='manual_attention')")
        return Verdict("manual_attention")
    expected = "review_repair" if repair else "review_handoff"
    signal = signals.repair_complete if repair else signals.handoff
    if signal is None:
        tool = "issue_review_repair_complete" if repair else "issue_review_handoff"
        return Verdict("invalid", f"{tool} was not called")
    if path != expected:
        return Verdict("invalid", f"expected issue_terminal_finalize(path={expected!r}), "
                                  f"got {path!r}")
    return Verdict(expected)


def _clip(text: str, width: int = 60) -> str:
    """``text`` cut to ``width`` characters, to echo an agent's value in a refusal."""
    return text[:width] + "…" if len(text) > width else text


def _brief(args: dict[str, Any], width: int = 60) -> str:
    """``key='value', ...`` with long values cut, to name a call in a comment."""
    parts = []
    for key, value in args.items():
        text = str(value)
        parts.append(f"{key}={(text[:width] + '…') if len(text) > width else text!r}")
    return ", ".join(parts)


def recorded_calls(record: Path) -> list[dict[str, Any]]:
    """Successful calls in a run's ``tools.jsonl`` (a torn last line is ignored)."""
    return [entry for entry in read_jsonl(record) if entry.get("ok")]


class ToolBridge:
    """Executes ``item/tool/call`` requests for one lane attempt."""

    def __init__(self, host: ToolHost, record: Path, repair: bool = False,
                 on_call: Callable[[str, bool, str], None] | None = None,
                 lost: Callable[[], bool] | None = None) -> None:
        self.host = host
        self.record = record
        self.repair = repair
        self.signals = Signals()
        self.on_call = on_call or (lambda name, ok, text: None)
        #: Whether the lane folder was deleted or replaced under this process
        #: (:meth:`maestro.lanes.record.state.LaneState.lost`): every call then ends the
        #: session, and nothing is recorded in a folder that is not the lane's any more.
        self.lost = lost or (lambda: False)
        self._done: dict[str, dict[str, Any]] = {}
        self._replay()

    def _key(self, name: str, args: dict[str, Any]) -> str:
        return json.dumps([name, args], sort_keys=True)

    def _replay(self) -> None:
        """Rebuild signals and the idempotency memory from an interrupted run's record."""
        for entry in recorded_calls(self.record):
            self._done[self._key(entry["tool"], entry["args"])] = entry
            self._note(entry["tool"], entry["args"])

    def _note(self, name: str, args: dict[str, Any]) -> None:
        if name == "issue_comment":
            self.signals.comments += 1
        elif name == "issue_label_add" and same_state(
                str(args.get("label", "")), self.host.needs_attention_label):
            self.signals.attention_label = True
        elif name == "issue_review_handoff":
            self.signals.handoff = {"pr_url": args["pr_url"], "summary": args["summary"]}
        elif name == "issue_review_repair_complete":
            self.signals.repair_complete = {"pr_url": args["pr_url"], "summary": args["summary"]}
        elif name == "issue_terminal_finalize":
            self.signals.finalize.append(args["path"])

    def call(self, name: str, arguments: Any) -> dict[str, Any]:
        """Answer one ``item/tool/call`` in the app-server's shape; never raises."""
        answer = self.answer(name, arguments)
        return {"success": answer.ok,
                "contentItems": [{"type": "inputText", "text": answer.text}]}

    def answer(self, name: str, arguments: Any) -> ToolAnswer:
        """Run one tool call under the contract, whatever front it came through (the
        app-server's ``item/tool/call``, or MCP's ``tools/call`` relayed by
        :mod:`maestro.agents.tool_relay`); never raises."""
        args = arguments if isinstance(arguments, dict) else {}
        if self.lost():
            self.signals.stop = self.signals.stop or (
                "the lane folder was deleted or replaced while the session ran; maestro "
                "stops this session")
            return ToolAnswer(False, f"refused: {self.signals.stop}")
        if self.signals.stop:
            # The session is ending; calls already in flight must not act any more.
            text = f"refused: the session was stopped ({self.signals.stop})"
            self.on_call(name, False, text)
            return ToolAnswer(False, text)
        try:
            if not isinstance(arguments, dict):
                raise ToolRefused("arguments must be a JSON object")
            text = self._run(name, args)
            ok = True
        except ToolRefused as exc:
            text, ok = f"refused: {exc}", False
            named = f"{name}({_brief(args)}): {exc}"
            self.signals.refused.append(named)
            if isinstance(exc, PolicyViolation):
                self.signals.violations.append(named)
            if isinstance(exc, StopSession):
                self.signals.stop = self.signals.stop or named
            if isinstance(exc, HaltSession):
                self.signals.halted = self.signals.halted or named
        except LabelMissingError as exc:
            text, ok = f"failed: {exc}", False
            if same_state(str(args.get("label", "")), self.host.needs_attention_label):
                # The agent asked for a human the right way; the tracker lacks the label.
                # maestro's attention path then parks the issue in its guarded state.
                self.signals.attention_label_missing = True
        except (TrackerError, ForgeError) as exc:  # an outage: the agent may try again
            text, ok = f"failed: {exc}", False
            self.signals.service_failures.append(f"{name}: {exc}")
        except Exception as exc:  # any other failure of the call: the agent may try again
            text, ok = f"failed: {exc}", False
        self.on_call(name, ok, text)
        return ToolAnswer(ok, text)

    def _run(self, name: str, args: dict[str, Any]) -> str:
        if name not in TOOL_NAMES:
            raise ToolRefused(f"unknown tool {name!r}; available: {', '.join(TOOL_NAMES)}")
        spec = next(s for s in TOOL_SPECS if s["name"] == name)
        named = args.get("issue")
        if named is not None and str(named) != self.host.identifier:
            self._log(name, args, False, "policy violation: another issue")
            raise PolicyViolation(
                f"policy violation: this lane may act only on {self.host.identifier}, "
                f"not on another issue ({named!r})"
            )
        args = {k: v for k, v in args.items() if k != "issue"}
        schema = spec["inputSchema"]
        for key in schema["required"]:
            if key not in args:
                raise ToolRefused(f"missing argument {key!r}")
        for key, value in args.items():
            if key not in schema["properties"]:
                raise ToolRefused(f"unknown argument {key!r}")
            if not isinstance(value, str):
                raise ToolRefused(f"argument {key!r} must be a string")
            if len(value) > MAX_BODY_CHARS:
                raise ToolRefused(f"argument {key!r} is longer than {MAX_BODY_CHARS} characters")
        key = self._key(name, args)
        if key in self._done:
            return str(self._done[key]["result"])
        result = self._execute(name, args)
        faults.point(f"tool:{name}")  # the side effect is done but not yet recorded
        self._log(name, args, True, result)
        self._done[key] = {"result": result}
        self._note(name, args)
        return result

    def _log(self, name: str, args: dict[str, Any], ok: bool, result: str) -> None:
        if self.lost():  # a call that was in flight when the folder went: no record
            return
        append_jsonl(self.record, {"at": iso_now(), "tool": name, "args": args, "ok": ok,
                                   "result": result})

    def _execute(self, name: str, args: dict[str, str]) -> str:
        host = self.host
        if name == "issue_comment":
            body = args["body"]
            if not body.strip():
                raise ToolRefused("comment body is empty")
            for forbidden in host.forbidden_paths():
                if forbidden and forbidden in body:
                    raise ToolRefused("comment contains an absolute host path; "
                                      "use repository-relative paths")
            if _ABSOLUTE_HOST_PATH.search(body):
                raise ToolRefused("comment contains an absolute host path; "
                                  "use repository-relative paths")
            if holds_state_marker(body):
                # maestro's own record of the lane (start, completion, closeout…): a block
                # the agent wrote would stand for one maestro did not write (breaker 13)
                raise ToolRefused("comment contains a maestro:state block; only maestro "
                                  "writes those")
            # Posted under maestro's tracker identity: control characters and bidirectional
            # overrides are shown, not obeyed, as in every text of others maestro posts
            # (maestro/visible_text.py; breaker 19 saw ESC, BEL and U+202E go out raw).
            return f"comment {host.post_comment(visible(body))} posted"
        if name == "issue_transition":
            # Resolve first, judge the resolved state, write only its configured spelling:
            # " Done" or "DONE\t" is Done, never a new state that later reads as Done.
            resolved = host.resolve_state(args["state"])
            if resolved is None:
                raise ToolRefused(f"state {_clip(args['state'])!r} is not a state of this "
                                  "workflow (WORKFLOW.md tracker states)")
            if host.is_forbidden_state(resolved) or host.is_forbidden_state(args["state"]):
                self._log(name, args, False, "policy violation: forbidden transition")
                raise PolicyViolation(
                    f"state {resolved!r} is reachable only through maestro (review handoff or "
                    "delivery), never by a direct transition"
                )
            state = resolved
            changed = host.transition(state)
            return f"moved to {state}" if changed else f"already in {state}"
        if name == "issue_label_add":
            if (why := host.reserved_label(args["label"])) is not None:
                self._log(name, args, False, "policy violation: reserved label")
                raise PolicyViolation(f"label {args['label']!r} is not the agent's to add: {why}")
            changed = host.add_label(args["label"])
            return f"label {args['label']} added" if changed else "label already present"
        if name == "lane_open_pr":
            return host.open_pr(args["title"], args.get("body", ""))
        if name in ("issue_review_handoff", "issue_review_repair_complete"):
            expected = host.pr_url()
            if expected is None:
                raise ToolRefused("the lane has no PR yet; call lane_open_pr first")
            if args["pr_url"] != expected:
                raise ToolRefused(f"pr_url {args['pr_url']!r} is not this lane's PR ({expected})")
            return "recorded"
        if name == "issue_terminal_finalize":
            if args["path"] not in TERMINAL_PATHS:
                raise ToolRefused(f"path must be one of {', '.join(TERMINAL_PATHS)}")
            return f"finalized: {args['path']}"
        raise ToolRefused(f"unknown tool {name!r}")  # pragma: no cover - guarded above


TOOL_CONTRACT = """\
## maestro tool contract

You work on exactly one leased issue, in this worktree, on this lane branch. You act on the
tracker and the forge only through these tools: issue_comment(body), issue_transition(state),
issue_label_add(label), lane_open_pr(title, body), issue_review_handoff(pr_url, summary),
issue_review_repair_complete(pr_url, summary), issue_terminal_finalize(path).

- Commit your work on the lane branch; never push: lane_open_pr pushes and opens the PR.
- Finish with exactly one terminal path:
  - review: lane_open_pr, then issue_review_handoff(pr_url, summary), then
    issue_terminal_finalize(path="review_handoff");
  - blocked: issue_label_add("{attention}"), an issue_comment naming the exact blocker, then
    issue_terminal_finalize(path="manual_attention");
  - review repair: fix the feedback, commit, then issue_review_repair_complete(pr_url,
    summary) and issue_terminal_finalize(path="review_repair").
- Never act on another issue; never move the issue to its success or a terminal state;
  never write absolute host paths in comments.
"""
