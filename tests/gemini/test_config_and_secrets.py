"""Configuration from the environment, the no-key rule, and the key never leaking anywhere."""

from __future__ import annotations

import logging

import httpx2
import pytest

from gemini_interactions_mcp.gemini import (
    AuthenticationError,
    ClientConfig,
    ConfigurationError,
    InteractionsClient,
    PermissionDeniedError,
    RetryPolicy,
    StreamError,
)

from .conftest import SECRET, Clock, json_response, mock_client

pytestmark = pytest.mark.anyio


def test_from_env_prefers_gemini_key_and_reads_base_url_and_version() -> None:
    env = {"GEMINI_API_KEY": SECRET, "GOOGLE_API_KEY": "other", "GEMINI_BASE_URL": "http://localhost:8800/"}
    cfg = ClientConfig.from_env(env, api_version="v1")
    assert cfg.api_key is not None and cfg.api_key.get_secret_value() == SECRET
    assert (cfg.base_url, cfg.api_version) == ("http://localhost:8800", "v1")
    google = ClientConfig.from_env({"GOOGLE_API_KEY": "g"})
    assert google.api_key is not None and google.api_key.get_secret_value() == "g"
    assert google.api_version == "v1beta" and google.is_google
    assert ClientConfig.from_env({"GEMINI_API_KEY": "  "}).api_key is None


def test_key_not_in_repr_or_str() -> None:
    cfg = ClientConfig.from_env({"GEMINI_API_KEY": SECRET})
    for text in (repr(cfg), str(cfg), cfg.model_dump_json(), repr(InteractionsClient(cfg))):
        assert SECRET not in text


async def test_missing_key_for_google_names_the_variables(clock: Clock) -> None:
    async with InteractionsClient(ClientConfig(), sleep=clock.sleep) as client:
        with pytest.raises(ConfigurationError, match="GEMINI_API_KEY or GOOGLE_API_KEY"):
            await client.get("v1_x")


async def test_no_key_elsewhere_is_sent_and_a_401_names_the_variables(clock: Clock) -> None:
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        if len(seen) == 1:
            return json_response(200, {"id": "v1_x", "status": "completed"})
        return json_response(
            401, {"error": {"code": 401, "message": "needs a key", "status": "UNAUTHENTICATED"}}
        )

    async with mock_client(handler, clock, api_key=None) as client:
        assert (await client.get("v1_x")).id == "v1_x"
        with pytest.raises(ConfigurationError, match=r"GEMINI_API_KEY.*needs a key"):
            await client.get("v1_x")
    assert "x-goog-api-key" not in seen[0].headers


async def test_key_never_in_errors_or_logs(clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    echo = f"API key not valid: {SECRET}"
    answers = [
        json_response(403, {"error": {"code": 403, "message": echo, "status": "PERMISSION_DENIED"}}),
        json_response(401, {"error": {"code": "unauthenticated", "message": echo}}),
        httpx2.Response(503, text=echo),
    ]

    def handler(request: httpx2.Request) -> httpx2.Response:
        return answers.pop(0) if len(answers) > 1 else answers[0]

    caplog.set_level(logging.DEBUG)
    async with mock_client(handler, clock, retry=RetryPolicy(max_attempts=2, jitter=0)) as client:
        caught: list[Exception] = []
        for error_type in (PermissionDeniedError, AuthenticationError, Exception):
            with pytest.raises(error_type) as info:
                await client.get("v1_x")
            caught.append(info.value)
    for error in caught:
        assert SECRET not in str(error) and SECRET not in repr(error)
        assert SECRET not in repr(vars(error))
        assert "[redacted]" in str(error)
    assert caplog.records, "retries are logged"
    assert SECRET not in caplog.text
    assert all(SECRET not in str(record.__dict__) for record in caplog.records)


async def test_stream_errors_do_not_carry_the_key(clock: Clock) -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, content=b"data: {oops\n\n", headers={"content-type": "text/event-stream"})

    async with mock_client(handler, clock) as client:
        with pytest.raises(StreamError) as info:
            async with client.stream_create({"model": "m", "input": "x"}) as stream:
                [event async for event in stream]
    assert SECRET not in str(info.value)


@pytest.mark.parametrize("base_url", ["http://proxy.test/gemini", "http://proxy.test/gemini/"])
async def test_requests_go_under_the_base_urls_path_and_version(base_url: str, clock: Clock) -> None:
    """The client joins each request's path to the base URL itself: a proxy's path prefix is kept, with
    one slash between, and the query and quoted ids come through."""
    seen: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(str(request.url))
        return json_response(200, {"id": "v1_a/b", "status": "completed"})

    async with mock_client(handler, clock, base_url=base_url, api_version="v1alpha") as client:
        await client.get("v1_a/b")
        await client.create({"model": "gemini-3.5-flash", "input": "hi"})
    assert seen == [
        "http://proxy.test/gemini/v1alpha/interactions/v1_a%2Fb?stream=false",
        "http://proxy.test/gemini/v1alpha/interactions",
    ]
