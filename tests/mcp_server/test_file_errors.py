"""Bad `files` reach the model as one actionable line in every tool that takes them (issue 8)."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest
from mcp import Client
from starlette.applications import Starlette

from gemini_interactions_mcp.app import build_server
from gemini_interactions_mcp.config import ServerSettings
from tests.helpers.results import text_of

pytestmark = pytest.mark.anyio

CALLS = [
    ("ask_gemini", {"prompt": "Describe it"}),
    ("start_deep_research", {"query": "Describe it"}),
    ("run_agent", {"input": "Describe it"}),
]


@pytest.mark.parametrize(("tool", "arguments"), CALLS)
async def test_a_nul_byte_in_files_is_a_tool_error(
    client: Client, tool: str, arguments: dict[str, object]
) -> None:
    result = await client.call_tool(tool, {**arguments, "files": ["notes\x00.txt"]})
    assert result.is_error
    assert "contains a NUL byte" in text_of(result)


async def test_over_http_errors_name_paths_relative_to_the_allowed_folder(
    emulator: Starlette, tmp_path: Path
) -> None:
    allowed = tmp_path / "shared"
    allowed.mkdir()
    settings = ServerSettings(state="memory", allow_dirs=(allowed,), transport="http")
    server = build_server(settings, transport=httpx2.ASGITransport(app=emulator))
    async with Client(server) as c:
        for ref in ["missing.txt", "../outside.txt", str(tmp_path / "elsewhere.txt")]:
            result = await c.call_tool("ask_gemini", {"prompt": "Read it", "files": [ref]})
            assert result.is_error
            assert str(allowed) not in text_of(result)
