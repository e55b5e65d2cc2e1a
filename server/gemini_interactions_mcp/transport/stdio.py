"""stdio for IDEs: the client's first message is answered before the MCP SDK is even imported.

Clients probe a new server with `server/discover` (2026-07-28) or `initialize` (2025 era) and some give
up fast: `@ai-sdk/mcp` waits 1 s, while importing the SDK alone takes 0.8 s or more on a busy machine.
So `StdioChannel.claim()` runs first (standard library only), reads the first line on a thread and, when
it is one of those two requests in a version this module knows, answers it at once from `identity.py`.
The line is then handed to the SDK like any other, so its protocol state is exactly as if it had
answered; its own reply to that request is dropped (and compared with ours: a difference is logged).

The channel also owns the process's stdin and stdout the way the SDK's own stdio transport would: the
wire runs on private copies of fd 0 and 1, while fd 0 reads from /dev/null and fd 1 goes to stderr, so a
stray print or a child process cannot corrupt the protocol.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, BinaryIO

from gemini_interactions_mcp.identity import CAPABILITIES, INSTRUCTIONS, server_info

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

log = logging.getLogger(__name__)

# The protocol versions this early answer speaks for; tests/mcp_server/test_stdio.py checks them against
# the installed SDK. Any other version is left to the SDK.
MODERN_VERSIONS = ("2026-07-28",)
HANDSHAKE_VERSIONS = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
META_VERSION = "io.modelcontextprotocol/protocolVersion"
META_CAPABILITIES = "io.modelcontextprotocol/clientCapabilities"
META_SERVER_INFO = "io.modelcontextprotocol/serverInfo"


def _discover_result(params: Any) -> dict[str, Any] | None:
    meta = params.get("_meta") if isinstance(params, dict) else None
    if not isinstance(meta, dict) or meta.get(META_VERSION) not in MODERN_VERSIONS:
        return None
    if not isinstance(meta.get(META_CAPABILITIES), dict):
        return None
    return {
        "cacheScope": "private",
        "capabilities": CAPABILITIES,
        "instructions": INSTRUCTIONS,
        "resultType": "complete",
        "supportedVersions": list(MODERN_VERSIONS),
        "ttlMs": 0,
        "_meta": {META_SERVER_INFO: server_info()},
    }


def _initialize_result(params: Any) -> dict[str, Any] | None:
    if not isinstance(params, dict) or params.get("protocolVersion") not in HANDSHAKE_VERSIONS:
        return None
    client = params.get("clientInfo")
    well_formed = (
        isinstance(params.get("capabilities"), dict)
        and isinstance(client, dict)
        and isinstance(client.get("name"), str)
        and isinstance(client.get("version"), str)
    )
    if not well_formed:
        return None
    return {
        "capabilities": CAPABILITIES,
        "instructions": INSTRUCTIONS,
        "protocolVersion": params["protocolVersion"],
        "serverInfo": server_info(),
    }


EARLY_ANSWERS: dict[str, Callable[[Any], dict[str, Any] | None]] = {
    "server/discover": _discover_result,
    "initialize": _initialize_result,
}


def early_answer(line: bytes) -> dict[str, Any] | None:
    """The reply to `line` if it is a first message this module can answer exactly as the SDK would."""
    try:
        message = json.loads(line)
    except ValueError:
        return None
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
        return None
    answer = EARLY_ANSWERS.get(message.get("method"))  # type: ignore[arg-type]
    request_id = message.get("id")
    if answer is None or isinstance(request_id, bool) or not isinstance(request_id, str | int):
        return None
    result = answer(message.get("params"))
    return None if result is None else {"jsonrpc": "2.0", "id": request_id, "result": result}


def _private_copy(fd: int, divert_to: int) -> int:
    """A close-on-exec copy of `fd` above the standard range; `fd` itself then points at `divert_to`."""
    private = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 3)
    os.dup2(divert_to, fd)
    return private


class StdioChannel:
    """The process's stdio wire, claimed at start-up; see the module docstring."""

    def __init__(self, reader: BinaryIO, writer: BinaryIO) -> None:
        self._reader = reader
        self._writer = writer
        self._write_lock = threading.Lock()
        self._first_line = b""
        self._first_read = threading.Event()
        self._first_delivered = False
        self._answered: dict[str, Any] | None = None  # our early reply, until the SDK's own is dropped

    @classmethod
    def claim(cls) -> StdioChannel:
        """Take over fd 0 and 1 and start reading the first message at once."""
        devnull = os.open(os.devnull, os.O_RDONLY)
        try:
            stdin = _private_copy(0, devnull)
        finally:
            os.close(devnull)
        stdout = _private_copy(1, 2)
        channel = cls(os.fdopen(stdin, "rb", closefd=False), os.fdopen(stdout, "wb", closefd=False))
        threading.Thread(target=channel._answer_first, name="stdio-first-message", daemon=True).start()
        return channel

    def _answer_first(self) -> None:
        try:
            line = self._reader.readline()
            reply = early_answer(line)
            if reply is not None:
                self._answered = reply
                self._write(json.dumps(reply, separators=(",", ":")) + "\n")
            self._first_line = line
        finally:
            self._first_read.set()

    def _write(self, text: str) -> None:
        with self._write_lock:
            self._writer.write(text.encode())
            self._writer.flush()

    def _is_duplicate(self, text: str) -> bool:
        """Whether `text` is the SDK's reply to the request answered early (logged if it differs)."""
        answered = self._answered
        if answered is None:
            return False
        try:
            message = json.loads(text)
        except ValueError:
            return False
        if not isinstance(message, dict) or "method" in message or message.get("id") != answered["id"]:
            return False
        self._answered = None
        if message != answered:
            log.warning("the early reply to %s differed from the SDK's: %s", answered["id"], text.strip())
        return True

    # The two halves handed to the SDK's stdio transport (duck-typed like anyio's AsyncFile[str]).

    def __aiter__(self) -> StdioChannel:
        return self

    async def __anext__(self) -> str:
        import anyio.to_thread

        if not self._first_delivered:
            await anyio.to_thread.run_sync(self._first_read.wait)
            self._first_delivered = True
            line = self._first_line
        else:
            line = await anyio.to_thread.run_sync(self._reader.readline)
        if not line:
            raise StopAsyncIteration
        return line.decode("utf-8", errors="replace")

    async def write(self, text: str) -> None:
        import anyio.to_thread

        if not self._is_duplicate(text):
            await anyio.to_thread.run_sync(self._write, text)

    async def flush(self) -> None:
        """Each write is flushed already."""


def serve_stdio(server: MCPServer[Any], channel: StdioChannel) -> None:
    """Serve `server` over `channel` until the client closes stdin."""
    import anyio
    from mcp.server.stdio import stdio_server

    async def serve() -> None:
        async with stdio_server(stdin=channel, stdout=channel) as (read_stream, write_stream):  # type: ignore[arg-type]
            # MCPServer.run("stdio") takes no streams, so its low-level server is driven directly, the
            # way MCPServer.run_stdio_async does it.
            lowlevel = server._lowlevel_server
            await lowlevel.run(read_stream, write_stream, lowlevel.create_initialization_options())

    anyio.run(serve)
