"""Errors through the SDK: status-to-exception mapping, emulator messages, retries, authentication."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from google import genai
from google.genai import types
from google.genai._interactions import (
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    RateLimitError,
)

from .conftest import FAST, Served, serve

MODEL = "gemini-3.5-flash"
SECRET = "contract-secret"


@pytest.fixture(scope="module")
def locked() -> Iterator[Served]:
    """A second emulator that requires an API key."""
    yield from serve(FAST.model_copy(update={"api_key": SECRET}))


def posts(served: Served) -> int:
    return sum(1 for r in served.requests() if r["method"] == "POST")


def test_unknown_interaction_is_not_found(sdk: genai.Client) -> None:
    """A 404 becomes the SDK's NotFoundError carrying the native `not_found` body."""
    with pytest.raises(NotFoundError) as info:
        sdk.interactions.get("v1_doesnotexist")
    assert info.value.status_code == 404
    assert info.value.body == {
        "error": {"code": "not_found", "message": "Interaction 'v1_doesnotexist' was not found."}
    }


def test_bad_request_carries_emulator_message(sdk: genai.Client) -> None:
    """A 400 becomes BadRequestError whose message includes the emulator's wording."""
    with pytest.raises(BadRequestError) as info:
        sdk.interactions.create(model=MODEL, input="hi", background=True, store=False)
    assert info.value.status_code == 400
    assert "'background' requires 'store' to be true." in str(info.value)
    assert info.value.body == {
        "error": {"code": "invalid_request", "message": "'background' requires 'store' to be true."}
    }


def test_unknown_field_is_bad_request(sdk: genai.Client) -> None:
    """A misspelt top-level field (sent via extra_body) is refused like the gateway does."""
    with pytest.raises(BadRequestError) as info:
        sdk.interactions.create(model=MODEL, input="hi", extra_body={"temprature": 0.2})
    assert 'Unknown name "temprature"' in str(info.value)


def test_429_with_retry_after_ms_is_retried(sdk: genai.Client, served: Served) -> None:
    """Two injected 429s with `retry-after-ms` are retried by the SDK; the third attempt succeeds."""
    fault = {"kind": "error", "status": 429, "count": 2, "retry_after_ms": 20, "method": "POST"}
    served.add_fault({**fault, "path": "/interactions"})
    started = time.monotonic()
    result = sdk.interactions.create(model=MODEL, input="hi")
    assert result.status == "completed"
    assert posts(served) == 3
    assert time.monotonic() - started < 2  # honoured the 20 ms hint, not the 0.5 s default backoff


def test_429_exhausts_default_attempts(sdk: genai.Client, served: Served) -> None:
    """With retries on by default (5 attempts), persistent 429s end in RateLimitError after 5 sends."""
    served.add_fault({"kind": "error", "status": 429, "count": 10, "retry_after_ms": 1})
    with pytest.raises(RateLimitError) as info:
        sdk.interactions.create(model=MODEL, input="hi")
    assert info.value.status_code == 429
    assert posts(served) == 5


def test_retry_attempts_option_limits_sends(served: Served) -> None:
    """`HttpRetryOptions(attempts=1)` turns retries off: exactly one send."""
    client = served.client(retry_options=types.HttpRetryOptions(attempts=1))
    served.add_fault({"kind": "error", "status": 503, "count": 3, "retry_after_ms": 1})
    with pytest.raises(Exception) as info:
        client.interactions.create(model=MODEL, input="hi")
    assert getattr(info.value, "status_code", None) == 503
    assert posts(served) == 1


def test_missing_api_key_is_authentication_error(locked: Served) -> None:
    """No credential (an empty `x-goog-api-key` overrides the SDK key): 401, AuthenticationError."""
    client = locked.client(headers={"x-goog-api-key": ""})
    with pytest.raises(AuthenticationError) as info:
        client.interactions.create(model=MODEL, input="hi")
    assert info.value.status_code == 401
    assert info.value.body["error"]["status"] == "UNAUTHENTICATED"


def test_wrong_api_key_is_the_gateways_bad_request(locked: Served) -> None:
    """A wrong key: the gateway's 400 INVALID_ARGUMENT with reason API_KEY_INVALID, which the SDK
    raises as BadRequestError (our client maps it to AuthenticationError)."""
    client = locked.client(api_key="wrong-key")  # keep a reference: a collected Client closes its pool
    with pytest.raises(BadRequestError) as info:
        client.interactions.create(model=MODEL, input="hi")
    assert info.value.status_code == 400
    error = info.value.body["error"]
    assert error["status"] == "INVALID_ARGUMENT" and error["details"][0]["reason"] == "API_KEY_INVALID"


def test_right_api_key_is_accepted(locked: Served) -> None:
    """The configured key, sent by the SDK as `x-goog-api-key`, is accepted."""
    client = locked.client(api_key=SECRET)
    result = client.interactions.create(model=MODEL, input="hi")
    assert result.status == "completed"
