"""HTTP failures: both error body shapes, retry counts and delays, budgets, transport errors, timeouts."""

from __future__ import annotations

import email.utils
import time
from typing import Any

import httpx2
import pytest

from gemini_interactions_mcp.gemini import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RetryPolicy,
    ServerError,
    TransportError,
    UpstreamTimeoutError,
)
from gemini_interactions_mcp.gemini.errors import retry_after
from tests.helpers.raw_server import Answer, scripted_upstream, then_hang_up, then_stall

from .conftest import SECRET, Clock, json_response, mock_client

pytestmark = pytest.mark.anyio

OK = {"id": "v1_ok", "status": "completed", "steps": []}
BODY = {"model": "gemini-3.5-flash", "input": "hi"}


class Script:
    """A MockTransport handler answering from a list of responses (or exceptions), counting calls."""

    def __init__(self, *answers: httpx2.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


@pytest.mark.parametrize(
    ("status", "body", "cls", "code", "gstatus", "message"),
    [
        (
            400,
            {"error": {"code": "invalid_request", "message": "bad tools[0]"}},
            BadRequestError,
            "invalid_request",
            None,
            "bad tools[0]",
        ),
        (
            400,
            {
                "error": {
                    "code": 400,
                    "message": "Unknown name",
                    "status": "INVALID_ARGUMENT",
                    "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo"}],
                }
            },
            BadRequestError,
            400,
            "INVALID_ARGUMENT",
            "Unknown name",
        ),
        (  # how Google's gateway really rejects a key: 400, not 401/403 (issue 8, recorded traffic)
            400,
            {
                "error": {
                    "code": 400,
                    "message": "API key not valid. Please pass a valid API key.",
                    "status": "INVALID_ARGUMENT",
                    "details": [
                        {
                            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                            "reason": "API_KEY_INVALID",
                            "domain": "googleapis.com",
                        }
                    ],
                }
            },
            AuthenticationError,
            400,
            "INVALID_ARGUMENT",
            "API key not valid. Please pass a valid API key.",
        ),
        (
            401,
            {"error": {"code": 401, "message": "no key", "status": "UNAUTHENTICATED"}},
            AuthenticationError,
            401,
            "UNAUTHENTICATED",
            "no key",
        ),
        (
            403,
            {"error": {"code": 403, "message": "API key not valid", "status": "PERMISSION_DENIED"}},
            PermissionDeniedError,
            403,
            "PERMISSION_DENIED",
            "API key not valid",
        ),
        (404, {"error": {"code": "not_found", "message": "gone"}}, NotFoundError, "not_found", None, "gone"),
        (
            409,
            {"error": {"code": "already_exists", "message": "dup"}},
            ConflictError,
            "already_exists",
            None,
            "dup",
        ),
        (422, {"error": {"code": "unprocessable", "message": "x"}}, APIError, "unprocessable", None, "x"),
    ],
)
async def test_error_shapes(
    clock: Clock, status: int, body: Any, cls: type[APIError], code: Any, gstatus: Any, message: str
) -> None:
    retry = RetryPolicy(jitter=0, retry_statuses=frozenset({500}))
    script = Script(json_response(status, body))
    async with mock_client(script, clock, retry=retry) as client:
        with pytest.raises(cls) as caught:
            await client.create(BODY)
    error = caught.value
    assert type(error) is cls
    assert (error.status_code, error.code, error.status, error.message) == (status, code, gstatus, message)
    assert str(error) == f"HTTP {status}: {message}"
    assert len(script.requests) == 1


async def test_non_json_and_empty_bodies(clock: Clock) -> None:
    script = Script(httpx2.Response(502, text="<html>Bad gateway</html>"), httpx2.Response(418, content=b""))
    async with mock_client(script, clock, retry=RetryPolicy(max_attempts=1)) as client:
        with pytest.raises(ServerError, match="Bad gateway") as caught:
            await client.get("v1_x")
        assert caught.value.code is None
        with pytest.raises(APIError, match="418") as teapot:
            await client.get("v1_x")
    assert teapot.value.message  # the reason phrase stands in for an empty body


async def test_retries_with_exponential_backoff_then_succeeds(clock: Clock) -> None:
    script = Script(
        *[json_response(503, {"error": {"code": 503, "message": "busy"}})] * 3, json_response(200, OK)
    )
    async with mock_client(script, clock) as client:
        result = await client.create(BODY)
    assert result.id == "v1_ok"
    assert len(script.requests) == 4
    assert clock.sleeps == [0.5, 1.0, 2.0]


async def test_backoff_is_capped_and_jittered_downwards(clock: Clock) -> None:
    policy = RetryPolicy(max_attempts=8, max_total_seconds=1000, jitter=0.25)
    delays = [policy.backoff(n, 1.0) for n in range(7)]
    assert delays == [0.375, 0.75, 1.5, 3.0, 6.0, 6.0, 6.0]
    assert [policy.backoff(n, 0.0) for n in range(6)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]


async def test_gives_up_after_max_attempts(clock: Clock) -> None:
    script = Script(json_response(429, {"error": {"code": "too_many_requests", "message": "quota"}}))
    async with mock_client(script, clock) as client:
        with pytest.raises(RateLimitError, match="quota"):
            await client.create(BODY)
    assert len(script.requests) == 5
    assert len(clock.sleeps) == 4


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504, 599])
async def test_retried_statuses(clock: Clock, status: int) -> None:
    script = Script(json_response(status, {"error": {"code": "x", "message": "m"}}), json_response(200, OK))
    async with mock_client(script, clock) as client:
        assert (await client.get("v1_ok")).id == "v1_ok"
    assert len(script.requests) == 2


async def test_retry_after_seconds_and_ms_are_honoured(clock: Clock) -> None:
    script = Script(
        json_response(429, {"error": {"code": "too_many_requests", "message": "q"}}, {"Retry-After": "3"}),
        json_response(503, {"error": {"code": "x", "message": "m"}}, {"retry-after-ms": "1500"}),
        json_response(200, OK),
    )
    async with mock_client(script, clock) as client:
        await client.create(BODY)
    assert clock.sleeps == [3.0, 1.5]


def test_retry_after_http_date_and_precedence() -> None:
    now = time.time()
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert retry_after({"retry-after": date}, now=now) == pytest.approx(30, abs=1)
    assert retry_after({"retry-after": email.utils.formatdate(now - 30, usegmt=True)}, now=now) == 0
    assert retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert retry_after({"retry-after-ms": "0", "retry-after": "9"}) == 9
    assert retry_after({"retry-after": "soon"}) is None
    assert retry_after({}) is None


async def test_retry_info_detail_gives_the_delay(clock: Clock) -> None:
    detail = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "7s"}
    body = {"error": {"code": 429, "message": "q", "status": "RESOURCE_EXHAUSTED", "details": [detail]}}
    script = Script(json_response(429, body), json_response(200, OK))
    async with mock_client(script, clock) as client:
        await client.create(BODY)
    assert clock.sleeps == [7.0]


async def test_gives_up_at_once_when_retry_after_exceeds_the_budget(clock: Clock) -> None:
    script = Script(json_response(429, {"error": {"code": "q", "message": "quota"}}, {"Retry-After": "120"}))
    async with mock_client(script, clock) as client:
        with pytest.raises(RateLimitError) as caught:
            await client.create(BODY)
    assert caught.value.retry_after == 120
    assert len(script.requests) == 1
    assert clock.sleeps == []


async def test_total_time_budget_bounds_the_retries(clock: Clock) -> None:
    retry = RetryPolicy(max_attempts=100, jitter=0, max_total_seconds=10.0)
    script = Script(json_response(500, {"error": {"code": "x", "message": "m"}}))
    async with mock_client(script, clock, retry=retry) as client:
        with pytest.raises(ServerError):
            await client.get("v1_x")
    assert clock.sleeps == [0.5, 1.0, 2.0, 4.0]  # the next 8 s would pass the 10 s budget
    assert sum(clock.sleeps) <= 10.0


async def test_transport_errors_are_retried(clock: Clock) -> None:
    script = Script(httpx2.ConnectError("refused"), httpx2.ReadError("reset"), json_response(200, OK))
    async with mock_client(script, clock) as client:
        assert (await client.get("v1_ok")).id == "v1_ok"
    assert len(script.requests) == 3


async def test_transport_error_after_the_bound(clock: Clock) -> None:
    script = Script(httpx2.ConnectError("refused"))
    async with mock_client(script, clock, retry=RetryPolicy(max_attempts=2, jitter=0)) as client:
        with pytest.raises(TransportError, match="ConnectError"):
            await client.get("v1_x")
    assert len(script.requests) == 2


async def test_timeouts_become_upstream_timeout(clock: Clock) -> None:
    script = Script(httpx2.ReadTimeout("slow"))
    async with mock_client(script, clock, retry=RetryPolicy(max_attempts=3, jitter=0)) as client:
        with pytest.raises(UpstreamTimeoutError):
            await client.create(BODY)
    assert len(script.requests) == 3


async def test_timeouts_are_explicit(clock: Clock) -> None:
    seen: list[dict[str, Any]] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request.extensions["timeout"])
        return json_response(200, OK)

    async with mock_client(handler, clock, connect_timeout=2.5, read_timeout=33.0) as client:
        await client.get("v1_ok")
    assert seen[0]["connect"] == 2.5 and seen[0]["read"] == 33.0


async def test_a_hung_server_times_out() -> None:
    """A real (ASGI) server that never answers: the read timeout ends the call, not the caller."""
    import anyio

    from gemini_interactions_mcp.gemini import InteractionsClient

    from .conftest import config

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await anyio.sleep(30)

    class SlowTransport(httpx2.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
            timeout = request.extensions["timeout"]["read"]
            try:
                with anyio.fail_after(timeout):
                    return await httpx2.ASGITransport(app=app).handle_async_request(request)
            except TimeoutError:
                raise httpx2.ReadTimeout("read timed out", request=request) from None

    cfg = config(read_timeout=0.05, retry=RetryPolicy(max_attempts=1))
    async with InteractionsClient(cfg, transport=SlowTransport()) as client:
        with anyio.fail_after(5), pytest.raises(UpstreamTimeoutError):
            await client.get("v1_x")


async def test_request_shape(clock: Clock) -> None:
    script = Script(json_response(200, OK))
    async with mock_client(script, clock, api_version="v1") as client:
        await client.create({**BODY, "stream": True})
        await client.get("v1/../agents", include_input=True)
        await client.cancel("v1_ok")
        await client.delete("v1_ok")
        await client.list_agents(page_size=2, page_token="t1")
    create, get, cancel, delete, agents = script.requests
    assert str(create.url) == "http://api.test/v1/interactions"
    assert create.headers["x-goog-api-key"] == SECRET
    assert create.headers["accept"] == "application/json"
    assert b'"stream"' not in create.content  # unary create never asks for a stream
    assert get.url.raw_path == b"/v1/interactions/v1%2F..%2Fagents?stream=false&include_input=true"
    assert (cancel.method, cancel.url.path) == ("POST", "/v1/interactions/v1_ok/cancel")
    assert (delete.method, delete.url.path) == ("DELETE", "/v1/interactions/v1_ok")
    assert str(agents.url) == "http://api.test/v1/agents?page_size=2&page_token=t1"


@pytest.mark.parametrize(
    ("status", "cls"),
    [(400, BadRequestError), (401, AuthenticationError), (403, PermissionDeniedError), (404, NotFoundError)],
)
async def test_client_errors_are_not_retried_by_default(
    clock: Clock, status: int, cls: type[APIError]
) -> None:
    script = Script(json_response(status, {"error": {"code": status, "message": "no"}}, {"Retry-After": "1"}))
    async with mock_client(script, clock) as client:  # the default policy, not a narrowed one
        with pytest.raises(cls):
            await client.create(BODY)
    assert len(script.requests) == 1
    assert clock.sleeps == []


async def test_text_plain_body_with_retry_after(clock: Clock) -> None:
    answer = httpx2.Response(
        429, text="Too many requests, slow down", headers={"content-type": "text/plain", "Retry-After": "2"}
    )
    async with mock_client(Script(answer), clock, retry=RetryPolicy(max_attempts=1)) as client:
        with pytest.raises(RateLimitError) as caught:
            await client.create(BODY)
    error = caught.value
    assert (error.status_code, error.code, error.status, error.details) == (429, None, None, [])
    assert error.message == "Too many requests, slow down"
    assert error.retry_after == 2.0


async def test_retry_after_http_date_is_honoured(clock: Clock) -> None:
    when = email.utils.formatdate(time.time() + 20, usegmt=True)
    script = Script(
        json_response(503, {"error": {"code": 503, "message": "busy"}}, {"Retry-After": when}),
        json_response(200, OK),
    )
    async with mock_client(script, clock) as client:
        assert (await client.create(BODY)).id == "v1_ok"
    assert len(script.requests) == 2
    assert clock.sleeps == [pytest.approx(20, abs=1.5)]  # an HTTP date has one-second resolution


async def test_gives_up_when_retry_after_exceeds_what_is_left_of_the_budget(clock: Clock) -> None:
    """6 s of a 10 s budget spent on the first wait; a second request for 5 s cannot fit."""
    retry = RetryPolicy(max_attempts=10, jitter=0, max_total_seconds=10.0)
    script = Script(
        json_response(503, {"error": {"code": 503, "message": "busy"}}, {"Retry-After": "6"}),
        json_response(429, {"error": {"code": 429, "message": "quota"}}, {"Retry-After": "5"}),
        json_response(200, OK),
    )
    async with mock_client(script, clock, retry=retry) as client:
        with pytest.raises(RateLimitError) as caught:
            await client.create(BODY)
    assert caught.value.retry_after == 5.0
    assert clock.sleeps == [6.0]
    assert len(script.requests) == 2


async def test_connect_timeout_becomes_upstream_timeout(clock: Clock) -> None:
    script = Script(httpx2.ConnectTimeout("no route"))
    async with mock_client(script, clock, retry=RetryPolicy(max_attempts=2, jitter=0)) as client:
        with pytest.raises(UpstreamTimeoutError, match="ConnectTimeout"):
            await client.get("v1_x")
    assert len(script.requests) == 2
    assert isinstance(UpstreamTimeoutError("x"), TransportError)


_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n"


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (then_hang_up(_HEAD + b'{"id": '), TransportError),
        (then_stall(_HEAD + b'{"id": '), UpstreamTimeoutError),
    ],
    ids=["cut-mid-body", "stalled-mid-body"],
)
async def test_a_body_that_fails_after_its_head_is_the_projects_error_and_not_resent(
    answer: Answer, error: type[Exception], no_proxy: None
) -> None:
    """Past the head, the request may have taken effect (a create): the failure is not retried, and it
    reaches the caller as the project's error, not as httpx2's."""
    from gemini_interactions_mcp.gemini import InteractionsClient

    from .conftest import config

    async with scripted_upstream(answer) as upstream:
        cfg = config(base_url=upstream.url.rstrip("/"), read_timeout=0.2, retry=RetryPolicy(jitter=0.0))
        async with InteractionsClient(cfg) as client:
            with pytest.raises(error, match="reading the answer"):
                await client.get("v1_x")
        assert len(upstream.requests) == 1
