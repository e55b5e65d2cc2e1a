"""A 2025-era (2025-11-25) MCP client spoken to over raw HTTP, so a test controls request ids, session
ids, reconnects and which server (replica) each request reaches."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx2

LEGACY = "2025-11-25"
ACCEPT = {"Accept": "application/json, text/event-stream"}
"""What a Streamable HTTP client accepts."""
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 0,
    "method": "initialize",
    "params": {"protocolVersion": LEGACY, "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}
"""A 2025-era client's first request."""


class LegacyCaller:
    """A 2025-11-25 client spoken to over raw HTTP, so the test controls request ids and reconnects."""

    def __init__(self, raw: httpx2.AsyncClient, url: str, token: str) -> None:
        self.raw, self.url = raw, url
        self.headers = {"Authorization": f"Bearer {token}", **ACCEPT, "MCP-Protocol-Version": LEGACY}

    async def open(self) -> None:
        opened = await self.raw.post(self.url, json=INITIALIZE, headers=self.headers)
        self.headers["Mcp-Session-Id"] = opened.headers["mcp-session-id"]
        await self.raw.post(
            self.url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=self.headers
        )

    def call(self, request_id: int, tool: str, arguments: dict[str, Any]) -> Any:
        body = {
            "jsonrpc": "2.0",
            "id": request_id,
            "method": "tools/call",
            "params": {"name": tool, "arguments": arguments},
        }
        return self.raw.stream("POST", self.url, json=body, headers=self.headers)

    def resume(self, last_event_id: str) -> Any:
        headers = {**self.headers, "Accept": "text/event-stream", "Last-Event-ID": last_event_id}
        return self.raw.stream("GET", self.url, headers=headers)


async def sse_events(response: httpx2.Response) -> AsyncIterator[dict[str, str]]:
    """The events of an SSE response as dicts of their fields (`id`, `data`, `retry`)."""
    event: dict[str, str] = {}
    async for line in response.aiter_lines():
        if not line:
            if event:
                yield event
            event = {}
        elif not line.startswith(":"):
            field, _, value = line.partition(":")
            event[field] = value.removeprefix(" ")


async def result_of(response: httpx2.Response, request_id: int) -> dict[str, Any]:
    async for event in sse_events(response):
        if event.get("data"):
            message = json.loads(event["data"])
            if message.get("id") == request_id:
                return dict(message)
    raise AssertionError(f"the stream ended without the answer to request {request_id}")
