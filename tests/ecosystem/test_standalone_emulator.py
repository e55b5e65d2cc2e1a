"""The README's advice for clients that start one server process per call (the Inspector's CLI mode):
a standalone emulator plus the state file carry a named conversation from one process to the next."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import get_default_environment

from tests.helpers.results import data, text_of
from tests.helpers.servers import free_port, wait_healthy

pytestmark = pytest.mark.anyio


@pytest.fixture
def standalone_emulator(tmp_path: Path) -> Iterator[str]:
    script = shutil.which("gemini-interactions-mcp", path=str(Path(sys.executable).parent))
    assert script, "the package must be installed (python3 scripts/dev.py test does it)"
    port = free_port()
    process = subprocess.Popen(
        [script, "emulator", "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


async def one_call(url: str, state: Path, prompt: str) -> str:
    """One server process for one tool call, as `npx @modelcontextprotocol/inspector --cli` runs it."""
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "gemini_interactions_mcp"],
        env={**get_default_environment(), "GEMINI_BASE_URL": url, "GEMINI_MCP_STATE": str(state)},
        cwd=str(state.parent),
    )
    async with Client(params) as client:
        result = await client.call_tool("ask_gemini", {"prompt": prompt, "conversation": "inspector"})
    data(result)
    return text_of(result)


async def test_a_named_conversation_survives_one_process_per_call(
    standalone_emulator: str, tmp_path: Path
) -> None:
    await wait_healthy(standalone_emulator, path="/_emulator/config")
    state = tmp_path / "state.sqlite3"
    await one_call(standalone_emulator, state, "My code is 1234.")
    assert "Your code is 1234" in await one_call(standalone_emulator, state, "What is my code?")
