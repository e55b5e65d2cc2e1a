"""Upstream connections on asyncio's own transports (gemini/loop_stream.py): reads take what has arrived,
a timeout only when a read has to wait, a slow reader pauses the socket, ends and resets are told apart,
TLS is asyncio's, and the Gemini client talks through them, HTTPS included."""

from __future__ import annotations

import asyncio
import select
import socket
import ssl
import struct
from pathlib import Path

import anyio
import httpcore2
import httpx2
import pytest
from httpcore2._backends.anyio import AnyIOStream

from gemini_interactions_mcp.emulator import EmulatorConfig, create_app
from gemini_interactions_mcp.gemini import ClientConfig, InteractionsClient
from gemini_interactions_mcp.gemini.loop_stream import READ_HIGH_WATER, LoopStream, connect_tcp
from gemini_interactions_mcp.gemini.transport import OneWriteStream, OneWriteTransport
from tests.helpers.loops import UVLOOP_BACKEND, needs_uvloop
from tests.helpers.raw_server import Handler, serving
from tests.helpers.servers import ServerThread
from tests.helpers.tls import Certificate, localhost_certificate
from tests.helpers.waiting import async_wait_until

pytestmark = pytest.mark.anyio


def answer_when(go: asyncio.Event, answer: bytes) -> Handler:
    """A handler that sends `answer` once `go` is set, then waits for the client to close."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await go.wait()
        writer.write(answer)
        await writer.drain()
        await reader.read()
        writer.close()

    return handler


@pytest.fixture
def certificate(tmp_path: Path) -> Certificate:
    return localhost_certificate(tmp_path)


async def test_a_read_takes_what_has_arrived_up_to_max_bytes_and_then_the_end() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"hello world")
        await writer.drain()
        writer.close()

    async with serving(handler) as port:
        stream = await connect_tcp("127.0.0.1", port, 5.0, None)
        chunks = []
        while chunk := await stream.read(4, timeout=5.0):
            chunks.append(chunk)
        assert b"".join(chunks) == b"hello world" and max(map(len, chunks)) <= 4
        assert await stream.read(4, timeout=5.0) == b""  # the end stays the end
        assert stream.get_extra_info("is_readable")  # a pooled connection in this state is not reused
        with pytest.raises(httpcore2.WriteError):
            await stream.write(b"more")
        await stream.aclose()


async def test_a_read_that_waits_too_long_times_out_and_the_connection_still_reads() -> None:
    late = asyncio.Event()
    async with serving(answer_when(late, b"late")) as port:
        stream = await connect_tcp("127.0.0.1", port, 5.0, None)
        with pytest.raises(httpcore2.ReadTimeout):
            await stream.read(10, timeout=0.05)
        late.set()
        assert await stream.read(10, timeout=5.0) == b"late"
        await stream.aclose()


async def test_a_reset_is_a_read_error_once_the_bytes_before_it_are_read() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"partial")
        await writer.drain()
        await reader.read(1)  # the client has read "partial": now reset the connection
        writer.get_extra_info("socket").setsockopt(
            socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
        )
        writer.transport.abort()

    async with serving(handler) as port:
        stream = await connect_tcp("127.0.0.1", port, 5.0, None)
        assert await stream.read(100, timeout=5.0) == b"partial"
        await stream.write(b"!")
        with pytest.raises(httpcore2.ReadError):
            await stream.read(100, timeout=5.0)
        await stream.aclose()


async def test_a_slow_reader_pauses_the_socket_and_still_reads_everything_in_order() -> None:
    payload = bytes(range(256)) * (16 * READ_HIGH_WATER // 256)

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(payload)
        await writer.drain()
        writer.close()

    async with serving(handler) as port:
        stream = await connect_tcp("127.0.0.1", port, 5.0, None)
        protocol = stream._protocol

        async def paused() -> bool:
            return protocol.reading_paused

        await async_wait_until(paused, what="the socket's reading to pause")
        assert len(protocol.data) < READ_HIGH_WATER + 256 * 1024  # what one more receive could add
        received = bytearray()
        while chunk := await stream.read(64 * 1024, timeout=5.0):
            received += chunk
        assert received == payload and not protocol.reading_paused
        await stream.aclose()


async def test_tls_is_asyncios_own_and_a_certificate_not_trusted_fails_to_connect(
    certificate: Certificate,
) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        data = await reader.read(100)
        writer.write(data.upper())
        await writer.drain()
        writer.close()

    async with serving(handler, certificate.server_context()) as port:
        plain = await connect_tcp("127.0.0.1", port, 5.0, None)
        stream = await plain.start_tls(certificate.client_context(), "localhost", timeout=5.0)
        assert isinstance(stream.get_extra_info("ssl_object"), ssl.SSLObject)
        await stream.write(b"ping")
        assert await stream.read(100, timeout=5.0) == b"PING"
        await stream.aclose()

        untrusting = await connect_tcp("127.0.0.1", port, 5.0, None)
        with pytest.raises(httpcore2.ConnectError, match="certificate"):
            await untrusting.start_tls(ssl.create_default_context(), "localhost", timeout=5.0)


async def test_a_refused_connection_is_a_connect_error() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # bound but not listening: connections are refused
        with pytest.raises(httpcore2.ConnectError):
            await connect_tcp("127.0.0.1", port, 5.0, None)


async def test_a_pooled_connection_the_server_closed_is_not_reused() -> None:
    connections = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")  # keep-alive, then it closes
        await writer.drain()
        writer.close()

    async with serving(handler) as port, httpx2.AsyncClient(transport=OneWriteTransport()) as client:
        first = await client.get(f"http://127.0.0.1:{port}/")
        stream = first.extensions["network_stream"]

        async def closed_by_the_server() -> bool:
            return bool(stream.get_extra_info("is_readable"))

        await async_wait_until(closed_by_the_server, what="the server's close to arrive")
        second = await client.get(f"http://127.0.0.1:{port}/")
    assert first.text == second.text == "ok" and connections == 2


async def test_the_client_talks_https_through_asyncio_connections(
    certificate: Certificate, monkeypatch: pytest.MonkeyPatch, no_proxy: None
) -> None:
    """As against Google: HTTPS, the certificate checked (here trusted through SSL_CERT_FILE)."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate.certfile))
    emulator = create_app(EmulatorConfig(step_delay=0.0))
    with ServerThread(emulator, lifespan="off", certificate=certificate) as tls:
        async with InteractionsClient(ClientConfig(base_url=tls.url)) as client:
            first = await client.create({"model": "gemini-3.5-flash", "input": "hi"})
            second = await client.create({"model": "gemini-3.5-flash", "input": "again"})
        async with httpx2.AsyncClient(transport=OneWriteTransport()) as plain:
            response = await plain.get(f"{tls.url}/_emulator/config")
            stream = response.extensions["network_stream"]
            assert isinstance(stream, OneWriteStream) and isinstance(stream._stream, LoopStream)
            assert isinstance(stream.get_extra_info("ssl_object"), ssl.SSLObject)

        async def server_saw_the_closes() -> bool:
            # Stopped before it has read the aborts, the server would close its TLS connections gracefully,
            # waiting for close_notify from peers that are gone (30 s; ServerThread gives up after 10).
            return not tls.connections()

        await async_wait_until(server_saw_the_closes, what="the server to see the connections closed")
    assert first.status == second.status == "completed" and response.status_code == 200
    assert stream.get_extra_info("ssl_object") is None  # closed with the client


async def test_a_cancelled_read_leaves_the_connection_readable() -> None:
    ready = asyncio.Event()
    async with serving(answer_when(ready, b"after")) as port:
        stream = await connect_tcp("127.0.0.1", port, 5.0, None)
        with anyio.move_on_after(0.05) as scope:
            await stream.read(10)
        assert scope.cancelled_caught and stream._protocol.reader is None
        ready.set()
        assert await stream.read(10, timeout=5.0) == b"after"
        await stream.aclose()


async def test_connections_asking_for_socket_options_keep_httpcore2s_anyio_streams() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()
        writer.close()

    async with serving(handler) as port:
        backend = OneWriteTransport()._pool._network_backend
        keepalive = [(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)]
        chosen = [
            await backend.connect_tcp("127.0.0.1", port, timeout=5.0),
            await backend.connect_tcp("127.0.0.1", port, timeout=5.0, socket_options=keepalive),
        ]
        assert [type(s._stream) for s in chosen] == [LoopStream, AnyIOStream]
        for stream in chosen:
            await stream.aclose()


@needs_uvloop
@pytest.mark.parametrize("anyio_backend", [UVLOOP_BACKEND])
async def test_on_uvloop_the_client_uses_httpcore2s_anyio_streams() -> None:
    """uvicorn runs an app on uvloop whenever uvloop is installed: calls must work there too (uvloop's
    create_connection takes no happy_eyeballs_delay, so asyncio's transports are not used)."""
    assert type(asyncio.get_running_loop()).__module__.startswith("uvloop")
    with ServerThread(create_app(EmulatorConfig(step_delay=0.0)), lifespan="off") as running:
        async with InteractionsClient(ClientConfig(base_url=running.url)) as client:
            interaction = await client.create({"model": "gemini-3.5-flash", "input": "hi"})
            async with client.stream_create({"model": "gemini-3.5-flash", "input": "hi"}) as events:
                streamed = [event async for event in events]
        backend = OneWriteTransport()._pool._network_backend
        stream = await backend.connect_tcp("127.0.0.1", running.port, timeout=5.0)
        assert type(stream._stream) is AnyIOStream
        await stream.aclose()
    assert interaction.status == "completed" and streamed


async def test_tls_on_a_connection_the_server_already_closed_fails_at_once(
    certificate: Certificate,
) -> None:
    """An overloaded balancer may accept and hang up: that is a connect error now, not a handshake
    waiting out its timeout (or forever, with none)."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    async with serving(handler) as port:
        stream = await connect_tcp("127.0.0.1", port, 5.0, None)
        assert await stream.read(10, timeout=5.0) == b""  # the server's close has arrived

        async def socket_closed() -> bool:
            return bool(stream.get_extra_info("socket").fileno() == -1)

        await async_wait_until(socket_closed, what="asyncio to close the socket")
        with anyio.fail_after(5), pytest.raises(httpcore2.ConnectError, match="before the TLS handshake"):
            await stream.start_tls(certificate.client_context(), "localhost", timeout=None)


async def test_a_write_the_peer_does_not_take_times_out_and_closing_lets_go_at_once() -> None:
    """The peer reads nothing: once the kernel's buffers and the transport's are full, writing waits and
    gives up after its timeout. Closed then, the connection does not linger until the peer takes the
    queued bytes (as with httpcore2's anyio streams), and later reads and writes are errors."""
    stop = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await stop.wait()
        writer.close()

    async with serving(handler) as port:
        stream = await connect_tcp("127.0.0.1", port, 5.0, None)
        with pytest.raises(httpcore2.WriteTimeout):
            for _ in range(256):  # far more than loopback buffers hold
                await stream.write(b"x" * (1024 * 1024), timeout=0.05)
        await stream.aclose()
        protocol = stream._protocol

        async def let_go() -> bool:
            return protocol.ended

        await async_wait_until(let_go, within=2.0, what="the socket to be closed")
        with pytest.raises(httpcore2.ReadError):
            await stream.read(10)
        with pytest.raises(httpcore2.WriteError):
            await stream.write(b"more")
        assert stream.get_extra_info("is_readable")
        await stream.aclose()  # twice is fine
        stop.set()


async def test_a_close_the_loop_has_not_read_yet_still_makes_a_pooled_connection_unusable() -> None:
    """The pool asks an idle connection whether it is readable before reusing it. A server's close
    still waiting in the kernel (the event loop busy elsewhere) counts, as it does for anyio's streams."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    stream = await connect_tcp("127.0.0.1", port, 5.0, None)
    accepted, _ = listener.accept()
    accepted.close()  # the server hangs up; this loop has not run since
    client = stream.get_extra_info("socket")
    readable, _, _ = select.select([client.fileno()], [], [], 5.0)  # the close reached the kernel
    assert readable and not stream._protocol.ended  # ...and not the protocol
    assert stream.get_extra_info("is_readable")
    await stream.aclose()
    listener.close()


async def test_behind_an_https_proxy_the_client_tunnels_and_no_proxy_goes_direct(
    certificate: Certificate, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's proxy variables: HTTPS_PROXY tunnels the HTTPS calls through the proxy (CONNECT),
    with the certificate still checked end to end; a host in NO_PROXY is reached directly."""
    tunnels: list[bytes] = []

    async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(64 * 1024):
                sink.write(data)
                await sink.drain()
        finally:
            sink.close()

    async def proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        tunnels.append(head.split(b"\r\n")[0])
        host, port = head.split()[1].decode().rsplit(":", 1)
        upstream_reader, upstream_writer = await asyncio.open_connection(host, int(port))
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await asyncio.gather(
            pipe(reader, upstream_writer), pipe(upstream_reader, writer), return_exceptions=True
        )

    monkeypatch.setenv("SSL_CERT_FILE", str(certificate.certfile))
    for variable in (
        "HTTP_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "no_proxy",
    ):
        monkeypatch.delenv(variable, raising=False)
    emulator = create_app(EmulatorConfig(step_delay=0.0))
    with ServerThread(emulator, lifespan="off", certificate=certificate) as tls:
        async with serving(proxy) as proxy_port:
            monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{proxy_port}")
            async with InteractionsClient(ClientConfig(base_url=tls.url)) as client:
                tunnelled = await client.create({"model": "gemini-3.5-flash", "input": "hi"})
            assert tunnels == [f"CONNECT localhost:{tls.port} HTTP/1.1".encode()]
            monkeypatch.setenv("NO_PROXY", "localhost")
            async with InteractionsClient(ClientConfig(base_url=tls.url)) as client:
                direct = await client.create({"model": "gemini-3.5-flash", "input": "hi"})
            assert len(tunnels) == 1
    assert tunnelled.status == direct.status == "completed"
