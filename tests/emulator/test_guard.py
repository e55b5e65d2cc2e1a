"""The request pipeline reads a request's path and query without building its URL; it must see exactly
what Starlette's URL shows, odd paths included."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from gemini_interactions_mcp.emulator.guard import path_of, query_of


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/v1beta/interactions", b""),
        ("/v1beta/interactions/v1_abc-_9", b"stream=true&last_event_id=evt_0001"),
        ("/v1beta/interactions/a?b", b"x=1"),
        ("/v1beta/interactions/a#b", b"x#y"),
        ("/v1beta/a\\b", b""),
        ("/v1beta/a b ", b"q=a b "),
        ("/v1beta/a\tb\n", b"a\tb"),
        ("//v1beta", b""),
        ("/v1beta/é", "é=ü".encode()),
        ("/v1beta/a%20", b"%23"),
    ],
)
def test_path_and_query_are_those_of_the_url(path: str, query: bytes) -> None:
    scope = {
        "type": "http",
        "path": path,
        "query_string": query,
        "headers": [(b"host", b"emulator.test")],
        "scheme": "http",
        "server": ("emulator.test", 80),
    }
    url = Request(scope).url
    assert (path_of(Request(scope)), query_of(Request(scope))) == (url.path, url.query)
