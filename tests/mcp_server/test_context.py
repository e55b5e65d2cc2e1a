"""tools/_context.py reads the SDK's Context from pydantic's store of private values: the same values
as the SDK's own properties, on a first call, on a retry, and outside a request."""

from __future__ import annotations

from typing import Any, cast

import pytest
from mcp.server.context import ServerRequestContext
from mcp.server.mcpserver import Context
from mcp.types import CallToolRequestParams

from gemini_interactions_mcp.tools import _context
from gemini_interactions_mcp.tools._context import input_responses, request_of, request_state


@pytest.mark.parametrize(
    "params",
    [
        None,
        CallToolRequestParams(name="ask_gemini", arguments={}),
        CallToolRequestParams(
            name="ask_gemini",
            arguments={},
            request_state="sealed",
            input_responses={"call-1": {"action": "accept", "content": {}}},
        ),
    ],
)
@pytest.mark.parametrize("renamed", [False, True])
def test_the_values_are_the_sdks(
    params: CallToolRequestParams | None, renamed: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read where the SDK keeps them, or (were they renamed in a later SDK) through its properties."""
    request = cast(ServerRequestContext[Any, Any], object())
    ctx: Context[Any, Any] = Context(request_context=request, input_params=params)
    if renamed:
        monkeypatch.setattr(_context, "REQUEST_CONTEXT", "_renamed_request")
        monkeypatch.setattr(_context, "INPUT_PARAMS", "_renamed_params")
    else:  # this SDK keeps them where the fast path looks: a release that moves them shows up here
        assert {_context.REQUEST_CONTEXT, _context.INPUT_PARAMS} <= set(ctx.__pydantic_private__ or {})
    assert request_of(ctx) is ctx.request_context is request
    assert request_state(ctx) == ctx.request_state
    assert input_responses(ctx) == ctx.input_responses
    if params is not None and params.request_state is not None:
        assert request_state(ctx) == "sealed" and input_responses(ctx)


def test_outside_a_request_the_sdks_error_stands() -> None:
    with pytest.raises(ValueError, match="outside of a request"):
        request_of(Context())
