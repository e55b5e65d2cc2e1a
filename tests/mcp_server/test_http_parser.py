"""Requests the HTTP server refuses before any app code runs, as h11 did and uvicorn's httptools
protocol does not: heads past the limit, no Host or several, a target that is not a path."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from uvicorn.server import ServerState

from gemini_interactions_mcp.transport.http_parser import MAX_HEAD_BYTES, BoundedHttpToolsProtocol
from tests.helpers import principals
from tests.helpers.servers import ServerThread
from tests.helpers.waiting import async_wait_until

HEADER_LINE = b"x-filler: " + b"a" * 1000 + b"\r\n"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerThread]:
    """Our server over HTTP (the upstream is never reached: these requests stop at the parser or the
    health check)."""
    with principals.http_server("http://127.0.0.1:9", tmp_path) as running:
        yield running


def exchange(server: ServerThread, request: bytes) -> bytes:
    """Send `request` on a fresh connection and read until the server closes it or 5 s pass."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(request)
        sock.shutdown(socket.SHUT_WR)
        return read_all(sock)


def read_all(sock: socket.socket) -> bytes:
    """What the server sends until it closes (a reset after its answer ends it too)."""
    answer = b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def host(server: ServerThread) -> bytes:
    return f"127.0.0.1:{server.port}".encode()


def test_a_head_that_never_ends_is_refused_and_the_connection_closed(server: ServerThread) -> None:
    """A client sending header lines without end gets a 400 once the head passes the limit, and the
    connection closes (without the limit, the server keeps reading, and holding, all it is sent, and
    this read waits out its timeout)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: " + host(server) + b"\r\n")
        with contextlib.suppress(OSError):  # the server may close before all of it is sent
            for _ in range(4 * MAX_HEAD_BYTES // len(HEADER_LINE)):
                sock.sendall(HEADER_LINE)
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 400") and b"Request headers too large" in answer


class Transport(asyncio.Transport):
    """A connection that keeps what the server writes to it."""

    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.closed = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(name, default)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += data

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def ok(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})


@pytest.mark.anyio
async def test_the_limit_holds_per_request_however_the_bytes_arrive() -> None:
    """Two requests on one connection, each with a head of three quarters of the limit arriving 1 KB at
    a time, are both answered: the count starts again with each request."""
    config = uvicorn.Config(ok, http=BoundedHttpToolsProtocol, log_config=None, lifespan="off")
    config.load()
    protocol = BoundedHttpToolsProtocol(config=config, server_state=ServerState(), app_state={})
    transport = Transport()
    protocol.connection_made(transport)
    filler = HEADER_LINE * (3 * MAX_HEAD_BYTES // 4 // len(HEADER_LINE))
    one = b"GET / HTTP/1.1\r\nHost: example.com\r\n" + filler + b"\r\n"
    for answered in (1, 2):
        for start in range(0, len(one), 1024):
            protocol.data_received(one[start : start + 1024])

        async def answers(expected: int = answered) -> bool:
            return transport.written.count(b"HTTP/1.1 200") == expected

        await async_wait_until(answers, what=f"answer {answered}")
    assert not transport.closed and b"400" not in transport.written
    protocol.connection_lost(None)


@pytest.mark.parametrize(
    "head",
    [
        pytest.param(b"POST /mcp HTTP/1.1\r\nHost: {good}\r\nHost: evil.example\r\n", id="two Hosts"),
        pytest.param(b"GET /healthz HTTP/1.1\r\n", id="no Host"),
        pytest.param(b"GET http://evil.example/healthz HTTP/1.1\r\nHost: {good}\r\n", id="absolute-form"),
        pytest.param(b"CONNECT evil.example:443 HTTP/1.1\r\nHost: {good}\r\n", id="authority-form"),
    ],
)
def test_requests_that_the_host_check_could_misread_are_refused(server: ServerThread, head: bytes) -> None:
    """Which host a request is for must be unambiguous before the Host check (DNS-rebinding protection)
    reads it: one Host header, and a target that names no host of its own."""
    request = head.replace(b"{good}", host(server)) + b"Content-Length: 0\r\n\r\n"
    assert exchange(server, request).startswith(b"HTTP/1.1 400")


@pytest.mark.parametrize(
    ("request_line", "with_host", "status"),
    [
        pytest.param(b"GET /healthz HTTP/1.1", True, b"200", id="plain"),
        pytest.param(b"GET /healthz HTTP/1.0", False, b"200", id="HTTP/1.0 without Host"),
        pytest.param(b"OPTIONS * HTTP/1.1", True, b"404", id="asterisk-form"),
    ],
)
def test_requests_the_parser_lets_through_reach_the_app(
    server: ServerThread, request_line: bytes, with_host: bool, status: bytes
) -> None:
    """HTTP/1.0 has no Host to require, and `OPTIONS *` names no host: the app answers them (no route
    serves `*`, hence its 404)."""
    head = request_line + b"\r\n" + (b"Host: " + host(server) + b"\r\n" if with_host else b"")
    answer = exchange(server, head + b"\r\n")
    assert answer.split(b" ", 2)[1] == status


def test_trailers_that_never_end_are_refused_and_the_connection_closed(server: ServerThread) -> None:
    """httptools reads a chunked body's trailers as more header lines, after the head is complete: they
    count against the same limit (without it, the server holds all of them while the connection lasts)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(
            b"POST /mcp HTTP/1.1\r\nHost: " + host(server) + b"\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"
        )
        with contextlib.suppress(OSError):  # the server may close before all of it is sent
            for _ in range(4 * MAX_HEAD_BYTES // len(HEADER_LINE)):
                sock.sendall(HEADER_LINE)
        answer = read_all(sock)
    assert b"Request headers too large" in answer


@pytest.mark.anyio
async def test_a_head_past_the_limit_is_refused_even_when_most_of_it_arrives_in_one_read() -> None:
    """asyncio hands over up to 256 KiB a read: a head whose last read completes it is measured too."""
    config = uvicorn.Config(ok, http=BoundedHttpToolsProtocol, log_config=None, lifespan="off")
    config.load()
    protocol = BoundedHttpToolsProtocol(config=config, server_state=ServerState(), app_state={})
    transport = Transport()
    protocol.connection_made(transport)
    head = (
        b"GET / HTTP/1.1\r\nHost: example.com\r\n"
        + HEADER_LINE * (2 * MAX_HEAD_BYTES // len(HEADER_LINE))
        + b"\r\n"
    )
    protocol.data_received(head[: MAX_HEAD_BYTES // 2])
    protocol.data_received(head[MAX_HEAD_BYTES // 2 :])
    assert transport.written.startswith(b"HTTP/1.1 400") and transport.closed
    protocol.connection_lost(None)
