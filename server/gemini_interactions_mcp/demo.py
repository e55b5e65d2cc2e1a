"""`gemini-interactions-mcp demo`: the main job end to end, on the embedded emulator, no key needed.

It launches this server over stdio exactly as an IDE would (`serve --emulator`), drives it with the
official MCP client and prints a readable transcript.
"""

from __future__ import annotations

import sys
import textwrap
from typing import Any

import anyio
from mcp.types import CallToolResult, TextContent

from mcp import Client, StdioServerParameters

WIDTH = 96


def _say(who: str, text: str) -> None:
    body = textwrap.indent(text.strip(), "    ")
    print(f"{who}\n{body}\n", flush=True)


def _text(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


async def _call(client: Client, tool: str, arguments: dict[str, Any], **options: Any) -> CallToolResult:
    _say(f"→ {tool}", "\n".join(f"{k}: {v}" for k, v in arguments.items()))
    result = await client.call_tool(tool, arguments, **options)
    _say("← " + ("error" if result.is_error else "result"), _text(result))
    if result.is_error:
        raise SystemExit(f"demo failed: {tool} returned an error")
    return result


async def _demo(research_seconds: float) -> None:
    params = StdioServerParameters(
        command=sys.executable,
        args=[
            "-m",
            "gemini_interactions_mcp",
            "serve",
            "--emulator",
            "--state",
            "memory",
            "--research-seconds",
            str(research_seconds),
        ],
    )
    print("=" * WIDTH)
    print("gemini-interactions-mcp demo: the server over stdio, on the embedded emulator (no API key)")
    print("=" * WIDTH, "\n", flush=True)
    async with Client(params) as client:
        tools = await client.list_tools()
        _say("Tools offered", ", ".join(t.name for t in tools.tools))
        first = await _call(
            client,
            "ask_gemini",
            {
                "prompt": "My favourite colour is teal. Suggest a name for a teal sailing boat.",
                "conversation": "boats",
            },
        )
        conversation = (first.structured_content or {})["conversation"]
        await _call(
            client, "ask_gemini", {"prompt": "What is my favourite colour?", "conversation": conversation}
        )
        await _call(client, "list_conversations", {})
    print("The follow-up was answered from the conversation kept by the server: the thread survived.")


def run_demo(*, research_seconds: float = 6.0) -> None:
    anyio.run(_demo, research_seconds)
