"""The Gemini client's own HTTP/1.1 transport (gemini/http11.py), against a raw server that writes exact
bytes: keep-alive and when a connection is not reused, every body framing, failures as httpx2's errors
with the pool still whole after them, 1xx skipped, one write per request, the pool's limit, the requests
it leaves to OneWriteTransport, TLS, and closing."""

from __future__ import annotations

import asyncio
import select
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import pytest

from gemini_interactions_mcp.gemini import http11
from gemini_interactions_mcp.gemini.http11 import Http11Transport
from gemini_interactions_mcp.gemini.loop_stream import READ_HIGH_WATER
from gemini_interactions_mcp.gemini.transport import OneWriteTransport
from tests.helpers.loops import UVLOOP_BACKEND, needs_uvloop
from tests.helpers.raw_server import (
    Answer,
    hang_up,
    read_request,
    scripted_upstream,
    then_hang_up,
    then_reset,
    then_stall,
)
from tests.helpers.tls import Certificate, localhost_certificate
from tests.helpers.waiting import async_wait_until

pytestmark = pytest.mark.anyio

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
WITHIN = 5.0
"""A bound on condition waits here: each holds within milliseconds."""
TIMEOUT = httpx2.Timeout(5.0, pool=1.0)
"""The clients' timeouts: bounds, except the pool's, which turns a leaked pool slot into the next
request's PoolTimeout rather than a hang."""
SHORT_READ = httpx2.Timeout(5.0, read=0.2, pool=1.0)
"""For the requests whose read stalls: the read timeout is the behaviour under test."""


def holds(check: Callable[[], object]) -> Callable[[], Any]:
    """`check` in the form `async_wait_until` polls."""

    async def check_async() -> object:
        return check()

    return check_async


@dataclass
class Opened:
    """A connection the transport opened, with what went through its asyncio transport."""

    connection: http11._Connection
    writes: list[bytes] = field(default_factory=list)
    pauses: int = 0
    resumes: int = 0
    paused: asyncio.Event = field(default_factory=asyncio.Event)


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[Opened]:
    """Every connection Http11Transport opens, its writes and its pauses of reading recorded."""
    made: list[Opened] = []
    connection_made = http11._Connection.connection_made

    def recording(connection: http11._Connection, transport: asyncio.BaseTransport) -> None:
        connection_made(connection, transport)
        assert isinstance(transport, asyncio.Transport)
        record = Opened(connection)
        write, pause, resume = transport.write, transport.pause_reading, transport.resume_reading

        def write_recorded(data: bytes | bytearray | memoryview) -> None:
            record.writes.append(bytes(data))
            write(data)

        def pause_recorded() -> None:
            record.pauses += 1
            record.paused.set()
            pause()

        def resume_recorded() -> None:
            record.resumes += 1
            resume()

        transport.write = write_recorded  # type: ignore[method-assign]
        transport.pause_reading = pause_recorded  # type: ignore[method-assign]
        transport.resume_reading = resume_recorded  # type: ignore[method-assign]
        made.append(record)

    monkeypatch.setattr(http11._Connection, "connection_made", recording)
    return made


@pytest.fixture
def one_slot(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pool of one connection: a slot not given back shows as the next request's PoolTimeout."""
    monkeypatch.setattr(http11, "MAX_CONNECTIONS", 1)


@pytest.fixture
async def transport() -> AsyncIterator[Http11Transport]:
    transport = Http11Transport()
    yield transport
    await transport.aclose()


@pytest.fixture
async def client(transport: Http11Transport) -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(transport=transport, timeout=TIMEOUT) as client:
        yield client


@pytest.fixture
def certificate(tmp_path: Path) -> Certificate:
    return localhost_certificate(tmp_path)


@pytest.fixture
def fallback_requests(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The methods of the requests OneWriteTransport serves, in order."""
    served: list[str] = []
    handle = OneWriteTransport.handle_async_request

    async def counted(self: OneWriteTransport, request: httpx2.Request) -> httpx2.Response:
        served.append(request.method)
        return await handle(self, request)

    monkeypatch.setattr(OneWriteTransport, "handle_async_request", counted)
    return served


# -- keep-alive ----------------------------------------------------------------------------------


async def test_a_response_nobody_asked_for_keeps_its_connection_from_reuse(
    client: httpx2.AsyncClient,
) -> None:
    """A second response right behind the first, in the same bytes: this connection's framing can no
    longer be trusted, so the next request opens a new one."""
    double = OK + b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nextra"
    async with scripted_upstream(double, OK) as upstream:
        first = await client.get(upstream.url)
        second = await client.get(upstream.url)
    assert first.text == second.text == "ok" and upstream.connections == 2


async def test_sequential_requests_reuse_one_connection(client: httpx2.AsyncClient) -> None:
    async with scripted_upstream(OK, b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nagain") as upstream:
        first = await client.get(upstream.url)
        second = await client.get(upstream.url)
    assert (first.text, second.text) == ("ok", "again") and upstream.connections == 1


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
    ],
    ids=["connection-close", "http/1.0"],
)
async def test_a_response_that_is_not_keep_alive_makes_the_next_request_open_a_new_connection(
    client: httpx2.AsyncClient, answer: bytes
) -> None:
    """The server keeps the connection open here: only the client's reading of the head closes it."""
    async with scripted_upstream(answer, OK) as upstream:
        first = await client.get(upstream.url)
        second = await client.get(upstream.url)
        await async_wait_until(holds(lambda: upstream.ended), within=WITHIN, what="the client to close")
    assert first.text == second.text == "ok" and upstream.connections == 2


async def test_an_idle_connection_the_server_closed_is_not_reused(
    client: httpx2.AsyncClient, opened: list[Opened]
) -> None:
    async with scripted_upstream(then_hang_up(OK), OK) as upstream:
        first = await client.get(upstream.url)
        idle = opened[0].connection
        await async_wait_until(holds(lambda: idle.ended), within=WITHIN, what="the server's close to arrive")
        second = await client.get(upstream.url)
    assert first.text == second.text == "ok" and upstream.connections == 2


async def test_a_close_the_loop_has_not_read_yet_still_keeps_an_idle_connection_from_reuse(
    client: httpx2.AsyncClient, opened: list[Opened]
) -> None:
    """The server hangs up an idle connection and its close reaches the kernel, not yet the protocol (the
    loop busy elsewhere): the next request still opens a new connection rather than failing on that one."""
    loop = asyncio.get_running_loop()

    async def answer(listener: socket.socket) -> socket.socket:
        accepted, _ = await loop.sock_accept(listener)
        request = b""
        while not request.endswith(b"\r\n\r\n"):
            request += await loop.sock_recv(accepted, 4096)
        await loop.sock_sendall(accepted, OK)
        return accepted

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(2)
        listener.setblocking(False)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
        answered = asyncio.create_task(answer(listener))
        first = await client.get(url)
        (await answered).close()  # the server hangs up; this loop does not run again before the request
        idle = opened[0].connection
        assert idle.transport is not None
        readable, _, _ = select.select([idle.transport.get_extra_info("socket").fileno()], [], [], WITHIN)
        assert readable and not idle.ended  # the close is in the kernel, not in the protocol
        answered = asyncio.create_task(answer(listener))
        second = await client.get(url)
        (await answered).close()
    assert first.text == second.text == "ok" and len(opened) == 2


async def test_an_idle_connection_past_the_keepalive_expiry_is_closed_not_reused(
    client: httpx2.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(http11, "KEEPALIVE_EXPIRY", 0.0)
    async with scripted_upstream(OK, OK) as upstream:
        await client.get(upstream.url)
        second = await client.get(upstream.url)
        await async_wait_until(holds(lambda: upstream.ended), within=WITHIN, what="the client to close")
    assert second.text == "ok" and upstream.connections == 2


# -- bodies --------------------------------------------------------------------------------------

CHUNKED = (
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5\r\nhello\r\n1;note=ext\r\n,\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n"
)


async def byte_by_byte(writer: asyncio.StreamWriter) -> None:
    """An answer: CHUNKED, one byte per write, the loop let run between them (so the client reads them
    apart: the parser meets every boundary inside a size line, a chunk and its CRLF)."""
    for index in range(len(CHUNKED)):
        writer.write(CHUNKED[index : index + 1])
        await writer.drain()
        await asyncio.sleep(0)  # a turn of the loop, not a wait for time


async def test_a_body_says_when_all_of_it_has_arrived(transport: Http11Transport) -> None:
    """`arrived` (what the SSE reader's drain asks, to skip its time limit) turns true with the body's
    last byte in, before anyone reads it, and never while the rest is still to come."""
    go_on = asyncio.Event()
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"
    async with scripted_upstream(then_stall(head, go_on, b"0\r\n\r\n")) as upstream:
        request = httpx2.Request("GET", upstream.url, extensions={"timeout": TIMEOUT.as_dict()})
        response = await transport.handle_async_request(request)
        body = response.stream
        assert isinstance(body, http11._Body)
        await async_wait_until(holds(lambda: body._connection.pieces), within=WITHIN, what="the first chunk")
        assert not body.arrived
        go_on.set()
        await async_wait_until(holds(lambda: body.arrived), within=WITHIN, what="the body's end")
        assert await response.aread() == b"hello" and body.arrived
        await response.aclose()


async def test_a_chunked_body_arriving_byte_by_byte_is_read_whole_and_the_connection_reused(
    client: httpx2.AsyncClient,
) -> None:
    async with scripted_upstream(byte_by_byte, OK) as upstream:
        chunked = await client.get(upstream.url)
        after = await client.get(upstream.url)
    assert chunked.text == "hello, world" and "x-trailer" not in chunked.headers
    assert after.text == "ok" and upstream.connections == 1


async def test_a_body_framed_by_the_connections_end_is_read_to_it_and_not_reused(
    client: httpx2.AsyncClient,
) -> None:
    async with scripted_upstream(then_hang_up(b"HTTP/1.1 200 OK\r\n\r\nto the very end"), OK) as upstream:
        to_the_end = await client.get(upstream.url)
        after = await client.get(upstream.url)
    assert to_the_end.text == "to the very end" and after.text == "ok" and upstream.connections == 2


async def test_a_large_body_pauses_reading_past_the_high_water_and_arrives_intact(
    client: httpx2.AsyncClient, opened: list[Opened]
) -> None:
    payload = bytes(range(256)) * (8 * 1024)  # 2 MiB, in a pattern a lost or reordered piece breaks
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(payload)}\r\n\r\n".encode()
    async with scripted_upstream(head + payload, OK) as upstream:
        async with client.stream("GET", upstream.url) as response:
            record = opened[0]
            await asyncio.wait_for(record.paused.wait(), WITHIN)  # nothing read yet: the socket pauses
            assert record.connection.buffered <= READ_HIGH_WATER + 256 * 1024  # what one receive adds
            body = await response.aread()
        after = await client.get(upstream.url)
    assert body == payload and record.resumes >= 1 and not record.connection.reading_paused
    assert after.text == "ok" and upstream.connections == 1


async def test_a_response_left_before_its_end_closes_its_connection(
    client: httpx2.AsyncClient, opened: list[Opened]
) -> None:
    """The rest of the body would arrive on that connection: the next request gets a new one."""
    partial = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"x" * 10
    async with scripted_upstream(then_stall(partial), OK) as upstream:
        async with client.stream("GET", upstream.url) as response:
            async for piece in response.aiter_raw():
                assert piece
                break
        left = opened[0].connection
        await async_wait_until(holds(lambda: left.ended), within=WITHIN, what="the connection to close")
        after = await client.get(upstream.url)
    assert after.text == "ok" and upstream.connections == 2


# -- failures ------------------------------------------------------------------------------------

HALF = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf"


@pytest.mark.parametrize(
    ("answer", "error", "in_body"),
    [
        (hang_up, httpx2.RemoteProtocolError, False),
        (then_hang_up(HALF), httpx2.RemoteProtocolError, True),
        (
            then_hang_up(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhal"),
            httpx2.RemoteProtocolError,
            True,
        ),
        (b"HTTP/1.1 OK 200\r\nContent-Length: 2\r\n\r\nok", httpx2.RemoteProtocolError, False),
        (b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\nok", httpx2.RemoteProtocolError, False),
        (then_stall(b""), httpx2.ReadTimeout, False),
        (then_stall(b"HTTP/1.1 200 OK\r\nContent-Len"), httpx2.ReadTimeout, False),
        (then_stall(HALF), httpx2.ReadTimeout, True),
        (
            then_stall(b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * (2 * http11.MAX_HEAD_BYTES)),
            httpx2.RemoteProtocolError,
            False,
        ),
        (then_reset(HALF), httpx2.ReadError, True),
        (
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
            httpx2.RemoteProtocolError,
            False,
        ),
    ],
    ids=[
        "closed-without-an-answer",
        "closed-mid-body",
        "closed-mid-chunk",
        "malformed-status-line",
        "malformed-content-length",
        "no-head-in-time",
        "half-a-head-in-time",
        "body-stalls",
        "head-past-the-limit",
        "reset-mid-body",
        "switching-protocols",
    ],
)
async def test_a_failure_is_httpx2s_error_and_the_pool_serves_the_next_request(
    one_slot: None, client: httpx2.AsyncClient, answer: Answer, error: type[Exception], in_body: bool
) -> None:
    timeout = SHORT_READ if error is httpx2.ReadTimeout else TIMEOUT
    async with scripted_upstream(answer, OK) as upstream:
        if in_body:
            async with client.stream("GET", upstream.url, timeout=timeout) as response:
                assert response.status_code == 200  # the head arrived; the failure is the body's
                with pytest.raises(error):
                    await response.aread()
        else:
            with pytest.raises(error):
                await client.get(upstream.url, timeout=timeout)
        after = await client.get(upstream.url)
    assert after.text == "ok" and upstream.connections == 2


async def test_a_refused_connection_is_a_connect_error_and_frees_its_slot(
    one_slot: None, client: httpx2.AsyncClient
) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # bound but not listening: connections are refused
        with pytest.raises(httpx2.ConnectError):
            await client.get(f"http://127.0.0.1:{port}/")
    async with scripted_upstream(OK) as upstream:
        assert (await client.get(upstream.url)).text == "ok"


# -- the response's head -------------------------------------------------------------------------


@pytest.mark.parametrize("transport", [Http11Transport, OneWriteTransport], ids=["http11", "httpcore2"])
async def test_whitespace_around_a_header_value_is_not_part_of_it(
    transport: Callable[[], httpx2.AsyncBaseTransport],
) -> None:
    """RFC 9110 5.5, and h11 under httpcore2: `X-Goog-Upload-Status: final ` says "final"."""
    answer = b"HTTP/1.1 200 OK\r\nX-Goog-Upload-Status: \t final \t\r\nContent-Length: 2\r\n\r\nok"
    async with (
        httpx2.AsyncClient(transport=transport(), timeout=TIMEOUT) as client,
        scripted_upstream(answer) as upstream,
    ):
        response = await client.get(upstream.url)
    assert response.headers["x-goog-upload-status"] == "final"


async def test_an_informational_response_before_the_real_one_is_skipped(client: httpx2.AsyncClient) -> None:
    interim = b"HTTP/1.1 100 Continue\r\nX-Interim: yes\r\n\r\n"
    final = b"HTTP/1.1 201 Created\r\nContent-Length: 4\r\n\r\nmade"
    async with scripted_upstream(interim + final, OK) as upstream:
        made = await client.post(upstream.url, content=b"{}")
        after = await client.get(upstream.url)
    assert (made.status_code, made.reason_phrase, made.text) == (201, "Created", "made")
    assert "x-interim" not in made.headers and after.text == "ok" and upstream.connections == 1


async def test_a_head_just_under_the_limit_with_a_body_in_the_same_bytes_is_read(
    client: httpx2.AsyncClient,
) -> None:
    """The limit counts the head, not the body bytes that arrive with it."""
    names = (f"X-H{index}: {'v' * 1000}\r\n".encode() for index in range(http11.MAX_HEAD_BYTES // 1100))
    payload = b"b" * (2 * http11.MAX_HEAD_BYTES)
    head = b"HTTP/1.1 200 OK\r\n" + b"".join(names) + f"Content-Length: {len(payload)}\r\n\r\n".encode()
    async with scripted_upstream(head + payload) as upstream:
        response = await client.get(upstream.url)
    assert response.content == payload and response.headers["x-h0"] == "v" * 1000


# -- the request ---------------------------------------------------------------------------------


async def test_each_request_goes_out_in_one_write(client: httpx2.AsyncClient, opened: list[Opened]) -> None:
    async with scripted_upstream(OK, OK) as upstream:
        await client.post(upstream.url, json={"input": "hi"})
        await client.post(f"{upstream.url}v1/x?alt=sse", content=b"y" * 100_000)
    [record] = opened
    assert record.writes == upstream.requests
    assert record.writes[0].startswith(b"POST / HTTP/1.1\r\n")
    assert record.writes[0].endswith(b'\r\n\r\n{"input":"hi"}')
    assert record.writes[1].startswith(b"POST /v1/x?alt=sse HTTP/1.1\r\n")
    assert record.writes[1].endswith(b"\r\n\r\n" + b"y" * 100_000)


# -- the pool's limit ----------------------------------------------------------------------------


def first_then(go_on: asyncio.Event) -> Answer:
    """An answer: the head and part of the body of "first", the rest once `go_on` is set."""
    return then_stall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfi", go_on, b"rst")


async def test_at_the_limit_a_request_waits_for_a_connection_and_then_reuses_it(
    one_slot: None, client: httpx2.AsyncClient, transport: Http11Transport
) -> None:
    go_on = asyncio.Event()
    async with scripted_upstream(first_then(go_on), OK) as upstream:
        async with client.stream("GET", upstream.url) as first:
            second = asyncio.create_task(client.get(upstream.url, timeout=5.0))  # waits, for a while
            await async_wait_until(holds(lambda: transport._slot_waiters), within=WITHIN, what="a waiter")
            assert upstream.connections == 1 and len(upstream.requests) == 1 and not second.done()
            go_on.set()
            assert await first.aread() == b"first"
        assert (await second).text == "ok"
    assert upstream.connections == 1 and len(upstream.requests) == 2


async def test_at_the_limit_a_request_gives_up_after_its_pool_timeout(
    one_slot: None, client: httpx2.AsyncClient
) -> None:
    go_on = asyncio.Event()
    async with scripted_upstream(first_then(go_on), OK) as upstream:
        async with client.stream("GET", upstream.url) as first:
            with pytest.raises(httpx2.PoolTimeout):
                await client.get(upstream.url, timeout=httpx2.Timeout(5.0, pool=0.05))
            go_on.set()
            assert await first.aread() == b"first"
        assert (await client.get(upstream.url)).text == "ok"  # the slot is still there


@pytest.mark.parametrize("order", ["cancelled-then-freed", "freed-then-cancelled"])
async def test_a_waiter_cancelled_does_not_take_the_slot_with_it(
    one_slot: None, client: httpx2.AsyncClient, transport: Http11Transport, order: str
) -> None:
    """Cancelled while it waits, or in the same turn of the loop as the slot is handed to it (before it
    runs again): either way it ends cancelled and the slot goes on to the next request."""
    async with scripted_upstream(first_then(asyncio.Event()), OK) as upstream:
        async with client.stream("GET", upstream.url) as first:
            waiter = asyncio.create_task(client.get(upstream.url))
            await async_wait_until(holds(lambda: transport._slot_waiters), within=WITHIN, what="a waiter")
            if order == "cancelled-then-freed":
                waiter.cancel()
                await first.aclose()  # frees the slot before the waiter has run again
            else:
                await first.aclose()  # hands the slot to the waiter...
                waiter.cancel()  # ...which is cancelled before it has run again
            with pytest.raises(asyncio.CancelledError):
                await waiter
        assert (await client.get(upstream.url)).text == "ok"


async def test_a_slot_handed_over_as_the_pool_timeout_fires_is_passed_on(
    one_slot: None, transport: Http11Transport
) -> None:
    """The timeout's cancellation and the slot's handing over in one turn of the loop: the request gives
    up with PoolTimeout, so the slot it was handed must go on, not stay counted as taken."""
    request = httpx2.Request("GET", "http://127.0.0.1/")
    await transport._take_slot(None, request)

    async def free_the_slot() -> None:
        transport._give_slot()

    # The waiter runs first and arms a timeout of 0 (due at the next turn); the slot is freed in the same
    # turn, just before the timeout fires.
    waiter = asyncio.create_task(transport._take_slot(0.0, request))
    freeing = asyncio.create_task(free_the_slot())
    with pytest.raises(httpx2.PoolTimeout):
        await waiter
    await freeing
    await asyncio.wait_for(transport._take_slot(None, request), WITHIN)


# -- requests left to OneWriteTransport ----------------------------------------------------------


async def test_a_streamed_request_body_goes_through_one_write_transport(
    client: httpx2.AsyncClient, opened: list[Opened], fallback_requests: list[str]
) -> None:
    async def parts() -> AsyncIterator[bytes]:
        yield b"str"
        yield b"eamed"

    async with scripted_upstream(OK) as upstream:
        response = await client.post(upstream.url, content=parts())
    assert response.text == "ok" and fallback_requests == ["POST"] and not opened
    assert upstream.requests[0].endswith(b"\r\n\r\n3\r\nstr\r\n5\r\neamed\r\n0\r\n\r\n")


async def test_a_head_request_goes_through_one_write_transport(
    client: httpx2.AsyncClient, opened: list[Opened], fallback_requests: list[str]
) -> None:
    """The response to HEAD announces a body it does not send: only a parser told the method can tell."""
    async with scripted_upstream(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n") as upstream:
        head = await client.head(upstream.url)
    assert head.headers["content-length"] == "5" and head.content == b""
    assert fallback_requests == ["HEAD"] and not opened


@needs_uvloop
@pytest.mark.parametrize("anyio_backend", [UVLOOP_BACKEND])
async def test_on_another_event_loop_requests_go_through_one_write_transport(
    client: httpx2.AsyncClient, opened: list[Opened], fallback_requests: list[str]
) -> None:
    async with scripted_upstream(OK) as upstream:
        response = await client.get(upstream.url)
    assert response.text == "ok" and fallback_requests == ["GET"] and not opened


async def test_https_works_and_reuses_its_connection(
    client: httpx2.AsyncClient,
    opened: list[Opened],
    fallback_requests: list[str],
    certificate: Certificate,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The certificate checked, as against Google (trusted here through SSL_CERT_FILE), and HTTP/1.1
    offered by ALPN to a server that also speaks h2 (which would otherwise be free to pick either)."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate.certfile))
    server = certificate.server_context()
    server.set_alpn_protocols(["h2", "http/1.1"])
    async with scripted_upstream(OK, OK, tls=server) as upstream:
        first = await client.get(upstream.url)
        second = await client.get(upstream.url)
        [record] = opened
        assert record.connection.transport is not None
        tls = record.connection.transport.get_extra_info("ssl_object")
        assert tls is not None and tls.selected_alpn_protocol() == "http/1.1"
    assert first.text == second.text == "ok" and upstream.connections == 1 and not fallback_requests


async def test_an_untrusted_certificate_is_a_connect_error(
    client: httpx2.AsyncClient, certificate: Certificate, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    async with scripted_upstream(OK, tls=certificate.server_context()) as upstream:
        with pytest.raises(httpx2.ConnectError, match="certificate"):
            await client.get(upstream.url)


# -- closing -------------------------------------------------------------------------------------


async def test_closing_the_transport_closes_its_idle_connections(
    client: httpx2.AsyncClient, transport: Http11Transport
) -> None:
    async with scripted_upstream(OK) as upstream:
        await client.get(upstream.url)
        assert not upstream.ended
        await transport.aclose()
        await async_wait_until(
            holds(lambda: upstream.ended), within=WITHIN, what="the server to see the close"
        )
    with pytest.raises(httpx2.ConnectError):
        await transport.handle_async_request(httpx2.Request("GET", upstream.url))


@pytest.mark.parametrize("tls", [False, True], ids=["tcp", "tls"])
async def test_a_response_before_the_request_went_out_whole_keeps_its_connection_from_reuse(
    client: httpx2.AsyncClient,
    opened: list[Opened],
    certificate: Certificate,
    monkeypatch: pytest.MonkeyPatch,
    tls: bool,
) -> None:
    """A server may answer (503, 413) before reading a large body, and never read the rest: a next request
    written behind that rest would reach it as part of the body. As with h11, a connection is reused only
    once its request went out whole; the answer itself still comes back at once."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate.certfile))
    answered, finished = asyncio.Event(), asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not answered.is_set():  # the first connection: answers after the head, reads nothing more
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")
            answered.set()
            await finished.wait()
        else:
            await read_request(reader)
            writer.write(OK)
        writer.close()

    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # the body stays on the client
        listener.bind(("127.0.0.1", 0))
        listener.listen(2)
        server = await asyncio.start_server(
            handle, sock=listener, ssl=certificate.server_context() if tls else None
        )
        url = f"{'https://localhost' if tls else 'http://127.0.0.1'}:{listener.getsockname()[1]}/"
        try:
            async with client.stream("POST", url, content=b"u" * (8 * 1024 * 1024)) as early:
                unsent = not opened[0].connection.request_sent()  # the server read none of the body
                await early.aread()
            after = await client.get(url)
        finally:
            finished.set()
            server.close()
            await server.wait_closed()
    assert early.status_code == 503 and unsent
    assert after.text == "ok" and len(opened) == 2


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("x-goog-api-key", "secret-key\r\nx-injected: 1"),
        ("x-goog-api-key", "secret-key\x00"),
        ("x key", "secret-key"),
    ],
    ids=["line-break-in-value", "nul-in-value", "space-in-name"],
)
async def test_a_malformed_request_header_is_refused_before_anything_is_sent(
    client: httpx2.AsyncClient, name: str, value: str
) -> None:
    """A line break in a value would end the header and start another (a header, or a second request,
    injected). Nothing goes out, and the message does not quote the header, which may be a key."""
    async with scripted_upstream(OK, OK) as upstream:
        with pytest.raises(httpx2.LocalProtocolError) as refused:
            await client.get(upstream.url, headers={name: value})
        after = await client.get(upstream.url)
    assert "secret-key" not in str(refused.value) and after.text == "ok"
    assert upstream.connections == 1 and len(upstream.requests) == 1
