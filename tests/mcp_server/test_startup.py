"""What building the server costs at start-up: only what the first `tools/list` needs (issue 12)."""

from __future__ import annotations

import logging

import pytest
from mcp.server.mcpserver import server as sdk_server

from gemini_interactions_mcp.app import build_server
from gemini_interactions_mcp.config import ServerSettings


def test_building_the_server_leaves_logging_to_us(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK's `configure_logging` imports rich (about 20 ms of every start) for a handler that
    `logging.basicConfig` would drop anyway: building our server never calls it, and puts it back."""
    calls: list[str] = []

    def configure_logging(level: str = "INFO") -> None:
        calls.append(level)

    monkeypatch.setattr(sdk_server, "configure_logging", configure_logging)
    handlers = list(logging.getLogger().handlers)
    build_server(ServerSettings(state="memory"))
    assert calls == []
    assert logging.getLogger().handlers == handlers
    assert sdk_server.configure_logging is configure_logging  # restored for anyone else's MCPServer
