"""``judge()``: the disposition rules of SPEC-NOTES §2 as a table."""

from __future__ import annotations

import pytest

from maestro.agents.tools import Signals, judge

HANDOFF = {"pr_url": "local://origin/pulls/1", "summary": "s"}

# (case, signals, repair, expected kind, words in the reason)
TABLE = [
    ("nothing yet", Signals(), False, "continue", ""),
    ("comment only", Signals(comments=1), False, "continue", ""),
    ("complete handoff", Signals(handoff=HANDOFF, finalize=["review_handoff"]), False,
     "review_handoff", ""),
    ("complete attention",
     Signals(attention_label=True, comments=1, finalize=["manual_attention"]), False,
     "manual_attention", ""),
    ("attention where the tracker lacks the label",
     Signals(attention_label_missing=True, comments=1, finalize=["manual_attention"]), False,
     "manual_attention", ""),
    ("complete repair", Signals(repair_complete=HANDOFF, finalize=["review_repair"]), True,
     "review_repair", ""),
    ("both signals", Signals(handoff=HANDOFF, attention_label=True, comments=1,
                             finalize=["review_handoff"]), False, "invalid", "both"),
    ("handoff finalized as attention", Signals(handoff=HANDOFF, finalize=["manual_attention"]),
     False, "invalid", "both"),
    ("finalize without signal", Signals(finalize=["review_handoff"]), False, "invalid",
     "issue_review_handoff was not called"),
    ("attention finalize without label", Signals(comments=1, finalize=["manual_attention"]),
     False, "invalid", "without the needs-attention label"),
    ("label without comment", Signals(attention_label=True, finalize=["manual_attention"]),
     False, "invalid", "without a comment"),
    ("label and comment without finalize", Signals(attention_label=True, comments=1), False,
     "invalid", "not finalized"),
    ("handoff without finalize", Signals(handoff=HANDOFF), False, "invalid", "got None"),
    ("handoff finalized as repair", Signals(handoff=HANDOFF, finalize=["review_repair"]), False,
     "invalid", "expected issue_terminal_finalize(path='review_handoff')"),
    ("two finalize paths", Signals(handoff=HANDOFF,
                                   finalize=["review_handoff", "manual_attention"]), False,
     "invalid", "several paths"),
    ("same path twice is one path", Signals(handoff=HANDOFF,
                                            finalize=["review_handoff", "review_handoff"]),
     False, "review_handoff", ""),
    ("repair round needs repair_complete", Signals(handoff=HANDOFF, finalize=["review_repair"]),
     True, "invalid", "issue_review_repair_complete was not called"),
    ("repair round finalized as handoff", Signals(repair_complete=HANDOFF,
                                                  finalize=["review_handoff"]), True,
     "invalid", "expected issue_terminal_finalize(path='review_repair')"),
]


@pytest.mark.parametrize(("signals", "repair", "kind", "reason"),
                         [row[1:] for row in TABLE], ids=[row[0] for row in TABLE])
def test_judge_disposition(signals: Signals, repair: bool, kind: str, reason: str) -> None:
    verdict = judge(signals, repair=repair)
    assert verdict.kind == kind
    assert reason in verdict.reason
