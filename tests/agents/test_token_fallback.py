"""Token totals fall back to ``turn/completed`` usage when no usage notification came."""

from __future__ import annotations

from maestro.lanes.sessions.agent_run import _tokens_from_completed


def test_usage_on_the_turn_is_taken_as_absolute_totals() -> None:
    tokens: dict[str, int] = {}
    _tokens_from_completed({"turn": {"id": "t", "usage": {
        "input_tokens": 70, "output_tokens": 30, "total_tokens": 100}}}, tokens)
    assert tokens == {"inputTokens": 70, "outputTokens": 30, "totalTokens": 100}


def test_camel_case_total_block_is_understood() -> None:
    tokens: dict[str, int] = {"totalTokens": 5}
    _tokens_from_completed({"usage": {"total": {"totalTokens": 9, "inputTokens": 6}}}, tokens)
    assert tokens == {"totalTokens": 9, "inputTokens": 6}


def test_no_usage_leaves_totals_alone() -> None:
    tokens = {"totalTokens": 5}
    _tokens_from_completed({"turn": {"id": "t", "status": "completed"}}, tokens)
    assert tokens == {"totalTokens": 5}
