"""`gemini-interactions-mcp demo`: the main job end to end, on the embedded emulator, no key needed.

It launches this server over stdio exactly as an IDE would (`serve --emulator`), drives it with the
official MCP client and prints a readable transcript.
"""

from __future__ import annotations

import base64
import json
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, StdioServerParameters
from mcp.types import AudioContent, CallToolResult, ImageContent, ResourceLink, TextContent

from gemini_interactions_mcp.tool_names import ToolName

WIDTH = 96
TICKETS_SERVER = """
from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations

server = MCPServer("tickets")


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def open_tickets() -> str:
    \"\"\"The open tickets of the team.\"\"\"
    return "#12 login fails on Safari (high); #15 typo on the pricing page (low)"


server.run("stdio")
"""
"""A user's own MCP server, as small as one can be: the demo lets Gemini call it."""


def _say(who: str, text: str) -> None:
    body = textwrap.indent(text.strip(), "    ")
    print(f"{who}\n{body}\n", flush=True)


def _text(result: CallToolResult) -> str:
    """The result as a client shows it: its text, and a line for each preview and link."""
    lines: list[str] = []
    for block in result.content:
        if isinstance(block, TextContent):
            lines.append(block.text)
        elif isinstance(block, ImageContent | AudioContent):
            size = len(base64.b64decode(block.data)) // 1024
            lines.append(f"[{block.type} preview shown inline: {block.mime_type}, {size} KB]")
        elif isinstance(block, ResourceLink) and str(block.uri).startswith("gemini://media/"):
            lines.append(f"[link {block.uri} ({block.mime_type}, {block.size or 0:,} bytes)]")
    return "\n".join(lines)


async def _call(client: Client, tool: str, arguments: dict[str, Any], **options: Any) -> CallToolResult:
    _say(f"→ {tool}", "\n".join(f"{k}: {v}" for k, v in arguments.items()))
    result = await client.call_tool(tool, arguments, **options)
    _say("← " + ("error" if result.is_error else "result"), _text(result))
    if result.is_error:
        raise SystemExit(f"demo failed: {tool} returned an error")
    return result


def _workspace(folder: Path) -> Path:
    """A project folder with notes, and an mcpServers file naming the user's own tickets server."""
    (folder / "NOTES.md").write_text("Release 2.1 ships on Tuesday; #12 must be fixed first.\n")
    (folder / "tickets_server.py").write_text(TICKETS_SERVER)
    config = folder / "mcp.json"
    server = {"command": sys.executable, "args": [str(folder / "tickets_server.py")]}
    config.write_text(json.dumps({"mcpServers": {"tickets": server}}))
    return config


async def _demo(research_seconds: float) -> None:
    with tempfile.TemporaryDirectory() as folder:
        await _demo_in(Path(folder), research_seconds)


async def _demo_in(folder: Path, research_seconds: float) -> None:
    output_dir = tempfile.mkdtemp(prefix="gemini-demo-")
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
            "--output-dir",
            output_dir,
            "--allow-dir",
            str(folder),
            "--mcp-config",
            str(_workspace(folder)),
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
            ToolName.ASK,
            {
                "prompt": "My favourite colour is teal. Suggest a name for a teal sailing boat.",
                "conversation": "boats",
            },
        )
        conversation = (first.structured_content or {})["conversation"]
        await _call(
            client, ToolName.ASK, {"prompt": "What is my favourite colour?", "conversation": conversation}
        )
        await _call(client, ToolName.LIST_CONVERSATIONS, {})
        print("The follow-up was answered from the conversation kept by the server: the thread survived.\n")
        await _image(client, output_dir)
        await _tools(client)
        await _research(client)


async def _image(client: Client, output_dir: str) -> None:
    """An image: saved under the output folder, previewed inline, linked as a resource."""
    result = await _call(
        client,
        ToolName.GENERATE_IMAGE,
        {"prompt": "A red kite over a teal sea", "aspect_ratio": "16:9", "image_size": "512"},
    )
    (media,) = (result.structured_content or {})["media"]
    print(f"The image was saved to {media['path']} (under {output_dir}) and shown to the client inline.\n")


async def _tools(client: Client) -> None:
    """Gemini calls the user's own MCP server and reads the workspace, in one turn."""
    # The emulator's model calls exactly what a [[call NAME {arguments}]] directive names.
    prompt = (
        "What blocks the release? "
        '[[call tickets__open_tickets {}]] [[call workspace__read_file {"path": "NOTES.md"}]]'
    )
    await _call(client, ToolName.ASK, {"prompt": prompt, "tools": ["mcp:tickets", "workspace"]})
    print("Gemini called the tickets server and read NOTES.md through this server, within the same turn.\n")


async def _research(client: Client) -> None:
    """Deep Research as a background job: start (returns at once), poll with progress, read the report."""
    started = await _call(
        client, ToolName.START_RESEARCH, {"query": "How did teal become a popular colour? Include charts."}
    )
    info = started.structured_content or {}

    async def show(progress: float, total: float | None, message: str | None) -> None:
        print(f"    … {message}", flush=True)

    while True:
        print(f"→ {ToolName.POLL} (progress notifications as they arrive)", flush=True)
        result = await client.call_tool(
            ToolName.POLL,
            {"interaction_id": info["interaction_id"], "wait_seconds": 20, "max_chars": 2000},
            progress_callback=show,
        )
        polled = result.structured_content or {}
        if result.is_error or polled.get("done"):
            break
    _say(f"← {ToolName.POLL}: {polled.get('status')}, first page of the report", _text(result))
    report = await client.read_resource(info["resource"])
    body = "\n".join(getattr(c, "text", "") for c in report.contents)
    lines = body.splitlines()
    charts = [line for line in lines if line.startswith(("![chart", "*Saved to"))]
    _say(
        f"Resource {info['resource']} ({len(body)} characters; its charts, each where it stood)",
        "\n".join(charts),
    )


def run_demo(*, research_seconds: float = 6.0) -> None:
    anyio.run(_demo, research_seconds)
