"""`files` in the tools that take them: folders and globs, and bad entries as one actionable line."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest
from mcp import Client
from starlette.applications import Starlette

from gemini_interactions_mcp.app import build_server
from gemini_interactions_mcp.config import ServerSettings
from tests.helpers.results import text_of

from .conftest import requests_log

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


async def test_a_glob_in_files_sends_the_matching_text_files(
    client: Client, emulator: Starlette, settings: ServerSettings
) -> None:
    root = settings.allow_dirs[0]
    (root / "src" / "lib").mkdir(parents=True)
    (root / "src" / "main.py").write_text("print('hello')\n")
    (root / "src" / "lib" / "util.py").write_text("ANSWER = 42\n")
    (root / "src" / "lib" / "data.bin").write_bytes(b"\x00\x01")
    result = await client.call_tool("ask_gemini", {"prompt": "Review", "files": ["src/**/*.py", "src/lib"]})
    assert not result.is_error, text_of(result)
    assert "Note: src/**/*.py: 2 files, ~6 tokens (.gitignore honoured)." in text_of(result)
    assert "src/lib: 1 file, ~3 tokens; skipped 1 binary (.gitignore honoured)." in text_of(result)
    (sent,) = [r["body"] for r in requests_log(emulator)]
    texts = [b["text"] for b in sent["input"][0]["content"] if b["type"] == "text"]
    assert texts == [
        "Review",
        "[file src/lib/util.py]\nANSWER = 42\n",
        "[file src/main.py]\nprint('hello')\n",
        "[file src/lib/util.py]\nANSWER = 42\n",
    ]
