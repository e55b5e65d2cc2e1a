"""stdio for IDEs: the wire is claimed before the MCP SDK is even imported, and served without threads.

`StdioChannel.claim()` runs first (standard library only): a thread reads what the client sends while
the main thread imports the SDK and builds the server, and answers what can be answered early: the first
message and the first tool list (`early_replies.py`). When the SDK starts reading, the thread stops and
hands over every line it read, in order.

From then on a pipe (what IDEs give) is read and written by the event loop itself (asyncio's pipe
transports): no thread hop per message, as the SDK's own stdio transport makes on every read, write and
flush. Anything else (a file, a terminal) is served by blocking calls on a worker thread.

The channel also owns the process's stdin and stdout the way the SDK's own stdio transport would: the
wire runs on private copies of fd 0 and 1, while fd 0 reads from /dev/null and fd 1 goes to stderr, so a
stray print or a child process cannot corrupt the protocol.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import select
import stat
import threading
from collections import deque
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gemini_interactions_mcp.transport.early_replies import EarlyReplies
from gemini_interactions_mcp.transport.tool_snapshot import ToolListSnapshot

if TYPE_CHECKING:
    import asyncio

    from mcp.server.mcpserver import MCPServer

log = logging.getLogger(__name__)

CHUNK_BYTES = 65536
MAX_LINE_BYTES = 1 << 30
"""A message longer than this (1 GiB) is refused; the SDK's own transport has no bound at all."""


def _private_copy(fd: int, divert_to: int) -> int:
    """A close-on-exec copy of `fd` above the standard range; `fd` itself then points at `divert_to`."""
    private = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 3)
    os.dup2(divert_to, fd)
    return private


def _is_pipe(fd: int) -> bool:
    """Whether the event loop can serve `fd` without blocking (a pipe or socket; not a file or terminal,
    whose descriptor may be shared with a shell that expects it blocking)."""
    mode = os.fstat(fd).st_mode
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


class _WriteProtocol:
    """Flow control of the stdout pipe (an asyncio protocol): a write waits until everything it wrote
    reached the pipe. (asyncio is imported only once the event loop runs: the early replies do not
    wait for it.)"""

    def __init__(self) -> None:
        import asyncio

        self.flushed = asyncio.Event()
        self.flushed.set()
        self.closed = False

    def connection_made(self, transport: object) -> None:
        """Nothing to do: the channel keeps the transport."""

    def pause_writing(self) -> None:
        self.flushed.clear()

    def resume_writing(self) -> None:
        self.flushed.set()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.flushed.set()


class StdioChannel:
    """The process's stdio wire, claimed at start-up; see the module docstring."""

    def __init__(self, reader: int, writer: int, replies: EarlyReplies) -> None:
        self._in = reader
        self._out = writer
        self._replies = replies
        self._buffer = bytearray()
        self._read_early: deque[bytes] = deque()
        self._eof = False
        self._write_lock = threading.Lock()
        self._wake_read, self._wake_write = os.pipe()
        self._thread: threading.Thread | None = None
        self._taken_over: asyncio.Lock | None = None
        self._lines: asyncio.StreamReader | None = None
        self._pipe_out: tuple[asyncio.WriteTransport, _WriteProtocol] | None = None

    @classmethod
    def claim(cls, snapshot_folder: Path | None = None) -> StdioChannel:
        """Take over fd 0 and 1 and start reading (and answering early) at once."""
        devnull = os.open(os.devnull, os.O_RDONLY)
        try:
            stdin = _private_copy(0, devnull)
        finally:
            os.close(devnull)
        stdout = _private_copy(1, 2)
        replies = EarlyReplies()
        channel = cls(stdin, stdout, replies)
        channel.start()
        snapshot = None
        try:
            snapshot = ToolListSnapshot.open(snapshot_folder)
        except (OSError, RuntimeError) as exc:  # unreadable files, or no home folder: no snapshot
            log.debug("no tools/list snapshot: %s", exc)
        finally:
            replies.use_snapshot(snapshot)
        return channel

    def start(self) -> None:
        self._thread = threading.Thread(target=self._answer_early, name="stdio-early-replies", daemon=True)
        self._thread.start()

    # Before the SDK reads: the thread.

    def _answer_early(self) -> None:
        """Read lines until the SDK takes over (or the input ends), answering what can be answered."""
        while True:
            ready, _, _ = select.select([self._in, self._wake_read], [], [])
            if self._wake_read in ready or not self._read_chunk():
                return
            while (line := self._buffered_line()) is not None:
                self._read_early.append(line)
                reply = self._replies.incoming(line, early=True)
                if reply is not None:
                    self._write_blocking((json.dumps(reply, separators=(",", ":")) + "\n").encode())

    def _read_chunk(self) -> bool:
        """Read what the pipe holds into the buffer; False at the end of the input."""
        chunk = os.read(self._in, CHUNK_BYTES)
        if not chunk:
            self._eof = True
            return False
        self._buffer += chunk
        return True

    def _buffered_line(self) -> bytes | None:
        end = self._buffer.find(b"\n")
        if end < 0:
            return None
        line = bytes(self._buffer[: end + 1])
        del self._buffer[: end + 1]
        return line

    def _read_line_blocking(self) -> bytes:
        """The next line (without a pipe to serve from the event loop); the unended rest at the end."""
        while (line := self._buffered_line()) is None:
            if self._eof or not self._read_chunk():
                rest = bytes(self._buffer)
                self._buffer.clear()
                return rest
        return line

    def _write_blocking(self, data: bytes) -> None:
        with self._write_lock:
            view = memoryview(data)
            while view:
                view = view[os.write(self._out, view) :]

    # Once the SDK reads: the event loop.

    async def _take_over(self) -> None:
        """Stop the early thread (once), and serve pipes from the event loop from here on."""
        import asyncio

        if self._taken_over is None:
            self._taken_over = asyncio.Lock()
        async with self._taken_over:
            if self._thread is None:
                return
            import anyio.to_thread

            os.write(self._wake_write, b"x")
            await anyio.to_thread.run_sync(self._thread.join)
            self._thread = None
            os.close(self._wake_read)
            os.close(self._wake_write)
            loop = asyncio.get_running_loop()
            if not self._eof and _is_pipe(self._in):
                self._lines = asyncio.StreamReader(limit=MAX_LINE_BYTES)
                self._lines.feed_data(bytes(self._buffer))
                self._buffer.clear()
                protocol = asyncio.StreamReaderProtocol(self._lines)
                await loop.connect_read_pipe(lambda: protocol, os.fdopen(self._in, "rb", closefd=False))
            if _is_pipe(self._out):
                # _WriteProtocol is an asyncio protocol by shape (subclassing one would import asyncio early).
                transport, flow = await loop.connect_write_pipe(
                    _WriteProtocol,  # type: ignore[type-var]
                    os.fdopen(self._out, "wb", closefd=False),
                )
                transport.set_write_buffer_limits(high=0)  # a write waits until all of it is in the pipe
                self._pipe_out = transport, flow

    # The two halves handed to the SDK's stdio transport (duck-typed like anyio's AsyncFile[str]).

    def __aiter__(self) -> StdioChannel:
        return self

    async def __anext__(self) -> str:
        if self._thread is not None:
            await self._take_over()
        if self._read_early:
            line = self._read_early.popleft()
        else:
            if self._lines is not None:
                line = await self._lines.readline()
            else:
                import anyio.to_thread

                line = await anyio.to_thread.run_sync(self._read_line_blocking)
            self._replies.incoming(line, early=False)
        if not line:
            raise StopAsyncIteration
        return line.decode("utf-8", errors="replace")

    async def write(self, text: str) -> None:
        if self._thread is not None:
            await self._take_over()
        duplicate, tool_list = self._replies.outgoing(text)
        if not duplicate:
            await self._write(text.encode())
        if tool_list is not None:
            import anyio.to_thread

            await anyio.to_thread.run_sync(self._replies.store, *tool_list)

    async def _write(self, data: bytes) -> None:
        if self._pipe_out is None:
            import anyio.to_thread

            await anyio.to_thread.run_sync(self._write_blocking, data)
            return
        transport, flow = self._pipe_out
        if flow.closed:
            raise BrokenPipeError("the client closed the server's stdout")
        transport.write(data)
        await flow.flushed.wait()

    async def flush(self) -> None:
        """Each write is flushed already."""

    def close(self) -> None:
        """Give the descriptors back as they were found (blocking), for whoever shares them."""
        if self._pipe_out is not None:
            self._pipe_out[0].close()
        for fd in (self._in, self._out):
            with suppress(OSError):
                os.set_blocking(fd, True)


def serve_stdio(server: MCPServer[Any], channel: StdioChannel) -> None:
    """Serve `server` over `channel` until the client closes stdin."""
    import anyio
    from mcp.server.stdio import stdio_server

    async def serve() -> None:
        try:
            async with stdio_server(stdin=channel, stdout=channel) as (read_stream, write_stream):  # type: ignore[arg-type]
                # MCPServer.run("stdio") takes no streams, so its low-level server is driven directly, the
                # way MCPServer.run_stdio_async does it.
                lowlevel = server._lowlevel_server
                await lowlevel.run(read_stream, write_stream, lowlevel.create_initialization_options())
        finally:
            channel.close()

    anyio.run(serve)
