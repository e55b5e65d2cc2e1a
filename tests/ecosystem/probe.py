"""What an IDE does first with a freshly installed server: list the tools and hold a short conversation."""

from __future__ import annotations

from mcp import Client, StdioServerParameters

from tests.helpers.results import data, text_of


async def converse_over_stdio(params: StdioServerParameters) -> None:
    """List the tools, then two turns on the emulator: the second answer needs the first turn's memory."""
    async with Client(params) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert {"ask_gemini", "poll_interaction", "start_deep_research"} <= names
        first = data(await client.call_tool("ask_gemini", {"prompt": "My code is 4321."}))
        again = await client.call_tool(
            "ask_gemini", {"prompt": "What is my code?", "conversation": first["conversation"]}
        )
        assert "Your code is 4321" in text_of(again)
