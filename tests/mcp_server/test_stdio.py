"""stdio's early first reply: answered before the SDK is imported, and exactly what the SDK would say."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, MODERN_PROTOCOL_VERSIONS

from gemini_interactions_mcp.transport.stdio import (
    HANDSHAKE_VERSIONS,
    MODERN_VERSIONS,
    StdioChannel,
    early_answer,
)

from .test_transports import console_script

DISCOVER = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "server/discover",
    "params": {
        "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {},
        }
    },
}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": "init",
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"},
    },
}
TOOLS_LIST_2026 = {
    "jsonrpc": "2.0",
    "id": 2,
    "method": "tools/list",
    "params": {"_meta": DISCOVER["params"]["_meta"]},  # type: ignore[index]
}
INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}
TOOLS_LIST = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}


def line(message: dict[str, Any]) -> bytes:
    return json.dumps(message).encode() + b"\n"


def test_the_early_answer_knows_the_sdks_versions() -> None:
    assert MODERN_VERSIONS == MODERN_PROTOCOL_VERSIONS
    assert HANDSHAKE_VERSIONS == HANDSHAKE_PROTOCOL_VERSIONS


def test_nothing_heavy_is_imported_before_the_first_reply() -> None:
    """The command line and the stdio channel load neither the SDK nor pydantic."""
    probe = (
        "import sys, gemini_interactions_mcp.cli, gemini_interactions_mcp.transport.stdio;"
        "print(sorted(m for m in ('mcp', 'pydantic', 'anyio', 'httpx2') if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"


def serve(tmp_path: Path, *messages: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
    """Run the console script over stdio with these messages; its replies (read before stdin is closed,
    so no request is cut short by the shutdown) and its stderr."""
    errors = tmp_path / "stderr.log"
    with errors.open("wb") as errlog:
        server = subprocess.Popen(
            [console_script(), "serve", "--state", "memory", "--log-level", "INFO"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errlog,
            cwd=tmp_path,
        )
        assert server.stdin is not None and server.stdout is not None
        server.stdin.write(b"".join(line(m) for m in messages))
        server.stdin.flush()
        replies = [json.loads(server.stdout.readline() or "null") for m in messages if "id" in m]
        server.stdin.close()
        assert server.wait(timeout=60) == 0
        assert server.stdout.read() == b"", "nothing after the last reply"
    return replies, errors.read_text()


@pytest.mark.parametrize(
    ("first", "then"),
    [(DISCOVER, [TOOLS_LIST_2026]), (INITIALIZE, [INITIALIZED, TOOLS_LIST])],
    ids=["2026-07-28", "2025-era"],
)
def test_the_early_reply_is_the_sdks_reply(
    tmp_path: Path, first: dict[str, Any], then: list[dict[str, Any]]
) -> None:
    """The SDK still answers the first request; its reply is dropped and compared with the early one."""
    replies, stderr = serve(tmp_path, first, *then)
    assert [r["id"] for r in replies] == [first["id"], 2], "one reply per request: the duplicate is dropped"
    assert replies[0] == early_answer(line(first))
    assert "ask_gemini" in {tool["name"] for tool in replies[1]["result"]["tools"]}
    assert "differed" not in stderr and "Traceback" not in stderr


def test_a_first_message_it_cannot_vouch_for_is_left_to_the_sdk(tmp_path: Path) -> None:
    unknown_version = {**INITIALIZE, "params": {**INITIALIZE["params"], "protocolVersion": "2024-01-01"}}  # type: ignore[dict-item]
    assert early_answer(line(unknown_version)) is None
    replies, _ = serve(tmp_path, unknown_version, INITIALIZED, TOOLS_LIST)
    assert replies[0]["result"]["protocolVersion"] == HANDSHAKE_PROTOCOL_VERSIONS[-1]
    assert [r["id"] for r in replies] == ["init", 2]


@pytest.mark.anyio
async def test_a_differing_sdk_reply_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    written = io.BytesIO()
    channel = StdioChannel(io.BytesIO(line(DISCOVER)), written)
    channel._answer_first()
    assert json.loads(written.getvalue()) == early_answer(line(DISCOVER))
    sdk_reply = {**early_answer(line(DISCOVER)), "result": {"changed": True}}  # type: ignore[dict-item]
    with caplog.at_level(logging.WARNING):
        await channel.write(json.dumps(sdk_reply) + "\n")
    assert "differed" in caplog.text
    assert written.getvalue().count(b"\n") == 1, "the SDK's reply is dropped all the same"
