"""A downstream MCP server for the bridge's tests: run it as a script (stdio) or mount its HTTP app.

Tools: `echo`, `slow`, `meet` and `hold` (read-only), `add_note` (writes, so it needs confirmation
unless trusted), `crash` (the process dies mid-call), `picture` (an image), `fail` (a tool error) and
`grow` (adds the tool `extra` and announces the change).
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from typing import Any

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ImageContent, ToolAnnotations

PIXEL = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 16).decode()
READ_ONLY = ToolAnnotations(read_only_hint=True)

MEET_PATIENCE_SECONDS = 20.0
"""How long a `meet` call waits for the others: only calls that run one after another wait it out."""

HOLD_PATIENCE_SECONDS = 60.0
"""How long a `hold` call waits for its gate: a test that never opens it fails well before."""
GATE_CHECK_SECONDS = 0.01

server: MCPServer[Any] = MCPServer("downstream-test")
notes: list[str] = []
meeting: dict[str, Any] = {"arrived": 0}


@server.tool(annotations=READ_ONLY)
async def echo(text: str) -> str:
    """Say the text back."""
    return f"echo: {text}"


@server.tool(annotations=READ_ONLY)
async def slow(seconds: float) -> str:
    """Answer after a while."""
    await anyio.sleep(seconds)
    return f"slept {seconds}"


@server.tool(annotations=READ_ONLY)
async def meet(count: int) -> str:
    """Wait until `count` calls of meet run at once: each says whether it met the others."""
    everyone = meeting.setdefault("everyone", anyio.Event())
    meeting["arrived"] += 1
    if meeting["arrived"] >= count:
        everyone.set()
    with anyio.move_on_after(MEET_PATIENCE_SECONDS):
        await everyone.wait()
    return f"met {count}" if everyone.is_set() else f"waited alone ({meeting['arrived']} of {count})"


@server.tool(annotations=READ_ONLY)
async def hold(gate: str) -> str:
    """Wait until the file `gate` exists, then answer with its text. Each call adds a line to
    `gate`.calls as it starts, and a cancelled call writes `gate`.cancelled: the test opens the gate
    and counts the calls."""
    path = anyio.Path(gate)
    async with await anyio.open_file(path.with_suffix(".calls"), "a") as calls:
        await calls.write("called\n")
    try:
        with anyio.move_on_after(HOLD_PATIENCE_SECONDS):
            while not await path.exists():  # noqa: ASYNC110 (another process opens the gate)
                await anyio.sleep(GATE_CHECK_SECONDS)
    except anyio.get_cancelled_exc_class():
        with anyio.CancelScope(shield=True):
            await path.with_suffix(".cancelled").write_text("cancelled")
        raise
    return await path.read_text() if await path.exists() else "the gate never opened"


@server.tool()
async def add_note(note: str) -> str:
    """Store a note (a side effect)."""
    notes.append(note)
    return f"stored note #{len(notes)}: {note}"


@server.tool()
def crash() -> str:
    """Die in the middle of the call. Its last words reach stderr a moment after stdout closed (written
    by a leftover child that shares stderr), so the bridge must wait for them, not race the two pipes.
    They name the `TEST_TOKEN` it was given, as a server reporting a bad credential may."""
    last_words = (
        "import os, sys, time; time.sleep(0.3); "
        "print('about to crash, token', os.environ.get('TEST_TOKEN', 'none'), file=sys.stderr)"
    )
    subprocess.Popen([sys.executable, "-c", last_words], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    os._exit(3)


@server.tool()
def shout(count: int, then_token: bool = False) -> str:
    """Die in the middle of the call, having written `count` characters to stderr on one line (then
    the `TEST_TOKEN` it was given, if `then_token`)."""
    sys.stderr.write("x" * count + (os.environ.get("TEST_TOKEN", "") if then_token else ""))
    sys.stderr.flush()
    os._exit(3)


@server.tool(annotations=READ_ONLY)
async def picture() -> list[Any]:
    """A tiny image."""
    return [ImageContent(type="image", data=PIXEL, mime_type="image/png")]


@server.tool(annotations=READ_ONLY)
async def fail() -> str:
    """Always fails."""
    raise ToolError("the ticket system is down")


@server.tool()
async def grow(ctx: Context[Any, Any]) -> str:
    """Add the tool `extra` and announce that the tool list changed."""

    @server.tool(name="extra", annotations=READ_ONLY)
    async def extra() -> str:
        return "extra tool here"

    await ctx.notify_tools_changed()
    return "grown"


if __name__ == "__main__":
    print("downstream-test starting", file=sys.stderr, flush=True)
    server.run("stdio")
