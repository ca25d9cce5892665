"""The shared GraphQL transport against a loopback server (no published schema needed).

Rate limits wait as asked and retry, transient failures retry with backoff, everything else
is one clear TrackerError naming the service, operation and status, and the credential never
appears anywhere a person could read it.
"""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Iterator

import pytest
from fakes.loopback import LoopbackServer, Reply, Request

from maestro.errors import ConfigError, RateLimitedError, TrackerError
from maestro.trackers.http import (
    GraphQLClient,
    RetryPolicy,
    Secret,
    client_for,
    secret_from_env,
    wait_from_headers,
)

SECRET = "lin_api_TOPSECRET_do_not_leak_42"
FAST = RetryPolicy(attempts=3, time_scale=0.001)
DOC = "query MaestroPing { viewer { id } }"


def ok(request: Request) -> Reply:
    return Reply(200, {"data": {"viewer": {"id": "u1"}}})


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(ok).running() as running:
        yield running


def client(server: LoopbackServer, retry: RetryPolicy = FAST, timeout_s: float = 5.0,
           scheme: str = "") -> GraphQLClient:
    made = client_for("linear", server.url, Secret(SECRET), scheme, timeout_s, retry.attempts,
                      retry.max_rate_limit_wait_s)
    made.retry = retry
    return made


def failure(call: GraphQLClient) -> TrackerError:
    with pytest.raises(TrackerError) as caught:
        call.execute("MaestroPing", DOC)
    return caught.value


def test_a_successful_query_returns_its_data_in_one_request(server: LoopbackServer) -> None:
    c = client(server)
    assert c.execute("MaestroPing", DOC) == {"viewer": {"id": "u1"}}
    assert c.requests == 1 and len(server.requests) == 1


def test_the_key_is_sent_as_the_authorization_header(server: LoopbackServer) -> None:
    client(server).execute("MaestroPing", DOC)
    client(server, scheme="bearer").execute("MaestroPing", DOC)
    assert [r.headers["authorization"] for r in server.requests] == [SECRET, f"bearer {SECRET}"]


def test_429_waits_for_retry_after_then_succeeds(server: LoopbackServer) -> None:
    server.fail(429, {"message": "slow down"}, {"Retry-After": "7"})
    c = client(server)
    assert c.execute("MaestroPing", DOC) == {"viewer": {"id": "u1"}}
    assert c.requests == 2
    assert c.last_rate_limit is not None and c.last_rate_limit.wait_s == 7.0
    assert c.last_rate_limit.source == "HTTP 429"


def test_a_rate_limit_is_logged_with_its_wait(server: LoopbackServer,
                                              caplog: pytest.LogCaptureFixture) -> None:
    server.fail(429, {}, {"Retry-After": "3"})
    with caplog.at_level(logging.WARNING, logger="maestro.trackers"):
        client(server).execute("MaestroPing", DOC)
    assert "rate limited" in caplog.text and "3.0 s" in caplog.text


def test_429_asking_longer_than_the_bound_gives_up_at_once(server: LoopbackServer) -> None:
    server.fail(429, {}, {"Retry-After": "3600"})
    c = client(server, RetryPolicy(attempts=3, time_scale=0.001, max_rate_limit_wait_s=60))
    with pytest.raises(RateLimitedError) as caught:
        c.execute("MaestroPing", DOC)
    assert caught.value.retry_after == 3600
    assert c.requests == 1


def test_a_wait_beyond_the_bound_is_reported_as_a_refusal_not_as_waiting(
        server: LoopbackServer, caplog: pytest.LogCaptureFixture) -> None:
    server.fail(429, {}, {"Retry-After": "99999"})
    c = client(server, RetryPolicy(attempts=5, time_scale=0.001, max_rate_limit_wait_s=60))
    with caplog.at_level(logging.WARNING, logger="maestro.trackers"), \
            pytest.raises(RateLimitedError) as caught:
        c.execute("MaestroPing", DOC)
    message = str(caught.value)
    assert "gave up after 1 attempt(s)" in message
    assert "longer than max_rate_limit_wait_s (60 s)" in message
    assert "waiting" not in caplog.text and "not retrying" in caplog.text


def test_the_last_attempt_announces_no_wait(server: LoopbackServer,
                                            caplog: pytest.LogCaptureFixture) -> None:
    server.fail(429, {}, {"Retry-After": "1"}, times=2)
    c = client(server, RetryPolicy(attempts=2, time_scale=0.001))
    with caplog.at_level(logging.WARNING, logger="maestro.trackers"), \
            pytest.raises(RateLimitedError, match="gave up after 2 attempt"):
        c.execute("MaestroPing", DOC)
    assert caplog.text.count("waiting") == 1 and "before attempt 2 of 2" in caplog.text


def test_retries_leave_no_stamina_log_lines(server: LoopbackServer,
                                            caplog: pytest.LogCaptureFixture) -> None:
    server.fail(500, {}, times=1)
    with caplog.at_level(logging.DEBUG):
        client(server).execute("MaestroPing", DOC)
    assert "stamina" not in caplog.text


def test_429_on_every_attempt_is_a_rate_limited_error(server: LoopbackServer) -> None:
    server.fail(429, {}, {"Retry-After": "1"}, times=3)
    c = client(server)
    with pytest.raises(RateLimitedError, match="MaestroPing: rate limited"):
        c.execute("MaestroPing", DOC)
    assert c.requests == 3


def test_a_reset_header_is_honoured_when_retry_after_is_absent(server: LoopbackServer) -> None:
    reset_ms = int((time.time() + 5) * 1000)
    server.fail(429, {}, {"X-RateLimit-Requests-Reset": str(reset_ms)})
    c = client(server)
    c.execute("MaestroPing", DOC)
    assert c.last_rate_limit is not None and 3.0 < c.last_rate_limit.wait_s <= 5.0


def test_linear_ratelimited_graphql_error_is_retried(server: LoopbackServer) -> None:
    server.fail(400, {"errors": [{"message": "Rate limit exceeded",
                                  "extensions": {"code": "RATELIMITED"}}]},
                {"X-RateLimit-Requests-Reset": str(int(time.time() * 1000) + 2000)})
    c = client(server)
    assert c.execute("MaestroPing", DOC) == {"viewer": {"id": "u1"}}
    assert c.requests == 2 and c.last_rate_limit is not None


def test_github_rate_limited_error_type_is_retried(server: LoopbackServer) -> None:
    server.fail(200, {"data": None, "errors": [{"type": "RATE_LIMITED",
                                                "message": "API rate limit exceeded"}]},
                {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(time.time()) + 2)})
    c = client(server)
    assert c.execute("MaestroPing", DOC) == {"viewer": {"id": "u1"}}
    assert c.requests == 2


def test_github_403_with_no_remaining_quota_is_a_rate_limit(server: LoopbackServer) -> None:
    server.fail(403, {"message": "API rate limit exceeded"},
                {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(time.time()) + 1)})
    c = client(server)
    assert c.execute("MaestroPing", DOC) == {"viewer": {"id": "u1"}}
    assert c.last_rate_limit is not None and c.last_rate_limit.source == "HTTP 403"


def test_a_500_is_retried_with_backoff(server: LoopbackServer) -> None:
    server.fail(500, b"oops")
    server.fail(502, b"bad gateway")
    c = client(server)
    assert c.execute("MaestroPing", DOC) == {"viewer": {"id": "u1"}}
    assert c.requests == 3


def test_500_on_every_attempt_names_the_status_and_the_attempts(server: LoopbackServer) -> None:
    server.fail(503, b"down", times=3)
    error = failure(client(server))
    assert "linear: MaestroPing: HTTP 503" in str(error)
    assert "gave up after 3 attempt(s)" in str(error)


def test_a_timeout_is_retried(server: LoopbackServer) -> None:
    server.delay(1.0)
    c = client(server, timeout_s=0.2)
    assert c.execute("MaestroPing", DOC) == {"viewer": {"id": "u1"}}
    assert c.requests == 2


def test_timeouts_on_every_attempt_say_so(server: LoopbackServer) -> None:
    server.delay(1.0, times=2)
    error = failure(client(server, RetryPolicy(attempts=2, time_scale=0.001), timeout_s=0.2))
    assert "timed out after 0.2 s" in str(error)


def test_an_unreachable_endpoint_is_a_clear_error() -> None:
    c = client_for("linear", "http://127.0.0.1:9/graphql", Secret(SECRET), "", 1.0, 2, 60)
    c.retry = RetryPolicy(attempts=2, time_scale=0.001)
    error = failure(c)
    assert "cannot reach http://127.0.0.1:9/graphql" in str(error)


def test_a_401_is_not_retried_and_names_operation_and_status(server: LoopbackServer) -> None:
    server.fail(401, {"message": "Bad credentials"})
    c = client(server)
    error = failure(c)
    assert "linear: MaestroPing: HTTP 401" in str(error)
    assert c.requests == 1


def test_a_400_carries_the_graphql_messages(server: LoopbackServer) -> None:
    server.fail(400, {"errors": [{"message": "Cannot query field 'nope' on type 'Query'."}]})
    error = failure(client(server))
    assert "HTTP 400" in str(error) and "Cannot query field 'nope'" in str(error)


def test_graphql_errors_in_a_200_are_errors(server: LoopbackServer) -> None:
    server.fail(200, {"data": {"viewer": None},
                      "errors": [{"message": "Entity not found", "path": ["viewer"],
                                  "extensions": {"code": "INVALID_INPUT"}}]})
    error = failure(client(server))
    assert "the API returned errors: [INVALID_INPUT] Entity not found at viewer" in str(error)


def test_tolerated_errors_let_partial_data_through(server: LoopbackServer) -> None:
    server.fail(200, {"data": {"viewer": None},
                      "errors": [{"type": "NOT_FOUND", "message": "no such thing"}]})
    data = client(server).execute("MaestroPing", DOC, tolerate=lambda e: e.code == "NOT_FOUND")
    assert data == {"viewer": None}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"<html>gateway</html>", "response is not JSON"),
        (b"[1, 2]", "response is not a GraphQL result"),
        (b'{"data": "nope"}', "response is not a GraphQL result: data"),
        (b'{"errors": "bad"}', "response is not a GraphQL result: errors"),
        (b"{}", "response has no data"),
    ],
)
def test_a_malformed_payload_is_an_error(server: LoopbackServer, body: bytes,
                                         expected: str) -> None:
    server.fail(200, body)
    assert expected in str(failure(client(server)))


def test_the_secret_appears_in_no_error_log_or_repr(server: LoopbackServer,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    seen: list[str] = []
    cases = [
        lambda: server.fail(401, {"message": "Bad credentials"}),
        lambda: server.fail(500, b"x", times=3),
        lambda: server.fail(200, b"not json"),
        lambda: server.fail(429, {}, {"Retry-After": "99999"}),
        lambda: server.fail(200, {"errors": [{"message": "boom"}]}),
    ]
    c = client(server)
    with caplog.at_level(logging.DEBUG):
        for arrange in cases:
            arrange()
            error = failure(c)
            seen += [str(error), repr(error), str(error.__cause__), str(error.__context__)]
        server.fail(429, {}, {"Retry-After": "1"})
        c.execute("MaestroPing", DOC)
    seen += [repr(c), str(c.rate_limits), caplog.text, repr(Secret(SECRET)), str(Secret(SECRET))]
    assert all(SECRET not in text for text in seen)


def test_a_missing_secret_variable_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MAESTRO_TEST_LINEAR_KEY", raising=False)
    with pytest.raises(ConfigError, match="MAESTRO_TEST_LINEAR_KEY is not set") as caught:
        secret_from_env("MAESTRO_TEST_LINEAR_KEY", "Linear API key", "tracker.api_key_env_var")
    assert "tracker.api_key_env_var" in str(caught.value)


def test_a_present_secret_variable_is_read_but_never_shown(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAESTRO_TEST_LINEAR_KEY", SECRET)
    secret = secret_from_env("MAESTRO_TEST_LINEAR_KEY", "Linear API key", "x")
    assert secret.reveal() == SECRET and SECRET not in f"{secret} {secret!r}"


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    now = 1_800_000_000.0
    assert wait_from_headers({"retry-after": "12"}, now) == 12.0
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert wait_from_headers({"retry-after": date}, now) == pytest.approx(30.0, abs=1)


def test_reset_headers_accept_epoch_seconds_and_milliseconds() -> None:
    now = 1_800_000_000.0
    assert wait_from_headers({"x-ratelimit-reset": str(int(now) + 40)}, now) == 40.0
    assert wait_from_headers({"x-ratelimit-requests-reset": str(int(now * 1000) + 2500)},
                             now) == pytest.approx(2.5)
    assert wait_from_headers({"x-ratelimit-reset": str(int(now) - 5)}, now) == 0.0
    assert wait_from_headers({}, now) is None
