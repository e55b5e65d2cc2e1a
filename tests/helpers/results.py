"""Reading MCP tool results the way a client model would: the text, and the structured content."""

from __future__ import annotations

from typing import Any

from mcp.types import CallToolResult, TextContent


def text_of(result: CallToolResult) -> str:
    """Every text block of the result, joined by newlines."""
    return "\n".join(b.text for b in result.content if isinstance(b, TextContent))


def data(result: CallToolResult) -> dict[str, Any]:
    """The structured content of a successful result (the test fails with the text if it errored)."""
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    return result.structured_content
