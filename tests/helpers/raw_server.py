"""Raw TCP servers on this test's own event loop, for tests that must control every byte on the wire.

`serving` runs a handler per connection; `scripted_upstream` is an HTTP/1.1 origin built on it whose
answers are exact bytes (or small coroutines that write, pause, stall or hang up), and which counts the
connections it accepted and keeps the requests as they arrived.
"""

from __future__ import annotations

import asyncio
import re
import socket
import ssl
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None] | None]
Answer = bytes | Callable[[asyncio.StreamWriter], Awaitable[None]]
"""What the upstream does for one request: write these bytes, or run this coroutine on the connection."""

_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length: *(\d+)", re.IGNORECASE)
_CHUNKED = re.compile(rb"\r\ntransfer-encoding: *chunked", re.IGNORECASE)


@asynccontextmanager
async def serving(handler: Handler, tls: ssl.SSLContext | None = None) -> AsyncIterator[int]:
    """A TCP (or TLS) server on 127.0.0.1 running `handler` per connection; yields its port."""
    server = await asyncio.start_server(handler, "127.0.0.1", 0, ssl=tls)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        server.close()
        await server.wait_closed()


async def read_request(reader: asyncio.StreamReader) -> bytes:
    """One request as it arrived: its head and its body (framed by Content-Length or chunks, as sent)."""
    head = await reader.readuntil(b"\r\n\r\n")
    if length := _CONTENT_LENGTH.search(head):
        return head + await reader.readexactly(int(length[1]))
    if not _CHUNKED.search(head):
        return head
    body = bytearray()
    while True:
        size_line = await reader.readuntil(b"\r\n")
        body += size_line
        size = int(size_line.split(b";")[0], 16)
        body += await reader.readexactly(size + 2)  # the chunk and its CRLF (the last one's: no trailers)
        if size == 0:
            return head + bytes(body)


@dataclass
class Upstream:
    """A scripted HTTP/1.1 origin: each request, on whichever connection, takes the next answer."""

    answers: list[Answer]
    port: int = 0
    scheme: str = "http"
    host: str = "127.0.0.1"
    connections: int = 0
    """Connections accepted."""
    requests: list[bytes] = field(default_factory=list)
    """Requests as they arrived, head and body, in order."""
    ended: int = 0
    """Connections the client closed (this side read to their end while waiting for a request)."""

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}/"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                try:
                    request = await read_request(reader)
                except (asyncio.IncompleteReadError, ConnectionError):
                    self.ended += 1
                    return
                self.requests.append(request)
                if not self.answers:
                    return
                answer = self.answers.pop(0)
                if isinstance(answer, bytes):
                    writer.write(answer)
                    await writer.drain()
                else:
                    await answer(writer)
                    if writer.is_closing():  # the answer hung up
                        return
        finally:
            writer.close()


@asynccontextmanager
async def scripted_upstream(*answers: Answer, tls: ssl.SSLContext | None = None) -> AsyncIterator[Upstream]:
    """An `Upstream` answering with `answers` in turn, on 127.0.0.1 (`localhost` with `tls`). Connections
    still open at the end are closed and their handlers cancelled (a stalled answer waits forever)."""
    upstream = Upstream(
        list(answers), scheme="https" if tls else "http", host="localhost" if tls else "127.0.0.1"
    )
    tasks: set[asyncio.Task[None]] = set()

    def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # A task of our own, not the server's: cancelling the server's makes Python 3.11 log an error.
        tasks.add(asyncio.create_task(upstream.handle(reader, writer)))

    async with serving(handler, tls) as upstream.port:
        try:
            yield upstream
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


async def hang_up(writer: asyncio.StreamWriter) -> None:
    """An answer: close the connection without a word."""
    writer.close()


def then_hang_up(data: bytes) -> Callable[[asyncio.StreamWriter], Awaitable[None]]:
    """An answer: write `data`, then close the connection."""

    async def answer(writer: asyncio.StreamWriter) -> None:
        writer.write(data)
        await writer.drain()
        writer.close()

    return answer


def then_stall(
    data: bytes, go_on: asyncio.Event | None = None, rest: bytes = b""
) -> Callable[[asyncio.StreamWriter], Awaitable[None]]:
    """An answer: write `data`, then nothing until `go_on` is set (forever without one), then `rest`."""

    async def answer(writer: asyncio.StreamWriter) -> None:
        writer.write(data)
        await writer.drain()
        await (go_on or asyncio.Event()).wait()
        writer.write(rest)
        await writer.drain()

    return answer


def then_reset(data: bytes) -> Callable[[asyncio.StreamWriter], Awaitable[None]]:
    """An answer: write `data`, then reset the connection (an RST, not a close)."""

    async def answer(writer: asyncio.StreamWriter) -> None:
        writer.write(data)
        await writer.drain()
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()

    return answer
