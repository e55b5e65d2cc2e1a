"""The requests of a model turn skip Starlette's router; they must reach the endpoint the router would
pick, and fail the same way."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from starlette.applications import Starlette
from starlette.routing import Match

from gemini_interactions_mcp.emulator import service
from gemini_interactions_mcp.emulator.app import _turn_endpoint

from .conftest import BASE

REQUESTS = [  # (method, path, whether it skips the router)
    ("POST", "/v1beta/interactions", True),
    ("POST", "/v9/interactions", True),
    ("GET", "/v1beta/interactions/v1_abc", True),
    ("GET", "/v1/interactions/v1_abc:cancel", True),
    ("HEAD", "/v1beta/interactions/v1_abc", False),
    ("GET", "/v1beta/interactions", False),
    ("GET", "/v1beta/interactions/", False),
    ("POST", "/v1beta/interactions/", False),
    ("POST", "/v1beta/interactions/v1_abc", False),
    ("POST", "/v1beta/interactions/v1_abc/cancel", False),
    ("DELETE", "/v1beta/interactions/v1_abc", False),
    ("GET", "/v1beta/interactions/v1_abc/x", False),
    ("GET", "//interactions/v1_abc", False),
    ("POST", "/interactions", False),
    ("GET", "/v1beta/files/abc", False),
]


def routed(app: Starlette, scope: dict[str, Any]) -> Any:
    """The endpoint Starlette's router picks: the first route matching path and method."""
    return next((r.endpoint for r in app.routes if r.matches(scope)[0] == Match.FULL), None)  # type: ignore[attr-defined]


@pytest.mark.parametrize(("method", "path", "skips_router"), REQUESTS)
def test_a_turn_request_reaches_the_endpoint_the_router_would(
    app: Starlette, method: str, path: str, skips_router: bool
) -> None:
    scope: dict[str, Any] = {"type": "http", "method": method, "path": path, "root_path": ""}
    direct = _turn_endpoint(dict(scope))
    assert (direct is not None) == skips_router
    assert direct is None or direct is routed(app, scope)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("method", "path", "broken"),
    [
        ("POST", "/v1beta/interactions", "create"),  # a turn request, sent straight to its endpoint
        ("GET", "/v1beta/interactions/v1_abc", "lookup"),  # the same
        ("POST", "/v1beta/interactions/v1_abc/cancel", "lookup"),  # routed by Starlette
    ],
)
async def test_an_unexpected_error_is_the_same_500_either_way(
    app: Starlette, monkeypatch: pytest.MonkeyPatch, method: str, path: str, broken: str
) -> None:
    def fail(*args: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(service, broken, fail)
    transport = httpx2.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx2.AsyncClient(transport=transport, base_url=BASE) as client:
        response = await client.request(method, path, json={"model": "gemini-3.5-flash", "input": "hi"})
    assert (response.status_code, response.text) == (500, "Internal Server Error")
