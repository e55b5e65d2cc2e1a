"""Requests as `RequestBuilder` makes them: what httpx2's `build_request` would have sent, in one step."""

from __future__ import annotations

import json

import httpx2

from gemini_interactions_mcp.gemini.outgoing import RequestBuilder

TIMEOUT = httpx2.Timeout(30, connect=5)
DEFAULTS = {"User-Agent": "ua/1", "x-goog-api-key": "configured"}


def built(method: str, url: str, **kwargs: object) -> tuple[httpx2.Request, httpx2.Request]:
    """Ours, made with a client's defaults as `InteractionsClient` makes it, and that client's own
    `build_request` for the same call (its `json=`, `content=` and `params=` arguments)."""
    client = httpx2.AsyncClient(headers=DEFAULTS, timeout=TIMEOUT)
    ours = RequestBuilder(client.headers, client.timeout).build(method, url, **kwargs)  # type: ignore[arg-type]
    theirs = client.build_request(
        method,
        url,
        headers=kwargs.get("headers"),  # type: ignore[arg-type]
        params=kwargs.get("params"),  # type: ignore[arg-type]
        json=kwargs.get("json_body"),
        content=kwargs.get("content"),  # type: ignore[arg-type]
    )
    return ours, theirs


def same_headers(ours: httpx2.Request, theirs: httpx2.Request) -> None:
    assert sorted((k.lower(), v) for k, v in ours.headers.items()) == sorted(
        (k.lower(), v) for k, v in theirs.headers.items()
    )


def test_a_json_post_is_httpx2s_byte_for_byte() -> None:
    body = {"model": "m", "input": "naïve ✓", "stream": True, "n": [1, None]}
    ours, theirs = built(
        "POST", "https://example.test/v1beta/interactions", headers={"accept": "x"}, json_body=body
    )
    assert ours.content == theirs.content and json.loads(ours.content) == body
    same_headers(ours, theirs)
    assert ours.url == theirs.url and ours.extensions == theirs.extensions


def test_bodyless_requests_carry_a_length_only_where_httpx2_gives_one() -> None:
    for method in ("POST", "GET", "DELETE"):
        ours, theirs = built(method, "http://127.0.0.1:8123/v1beta/interactions/a", headers={})
        same_headers(ours, theirs)
        assert ours.headers["host"] == "127.0.0.1:8123"
    assert "content-length" not in built("GET", "http://h/x", headers={})[0].headers
    assert built("POST", "http://h/x", headers={})[0].headers["content-length"] == "0"


def test_bytes_params_and_overrides() -> None:
    ours, theirs = built(
        "POST",
        "https://upload.test/up?upload_id=1",
        headers={"X-Goog-Api-Key": "callers", "X-Goog-Upload-Command": "upload, finalize"},
        content=b"\x00chunk",
    )
    same_headers(ours, theirs)
    assert ours.headers["x-goog-api-key"] == "callers" and ours.content == b"\x00chunk"
    ours, theirs = built(
        "GET", "https://h.test/i/a", headers={}, params={"stream": "true", "last_event_id": "e 1"}
    )
    assert ours.url == theirs.url
