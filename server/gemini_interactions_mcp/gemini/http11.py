"""Upstream HTTP/1.1 on asyncio's transports, parsed by httptools: the transport under the Gemini client.

Why not httpcore2 under httpx2 here: its pool, its connection classes and h11's pure-Python parser
were the largest cost left in a turn. The floor under `ask_gemini` (echo plus one streamed POST to the
emulator) cost 1.54 ms of server CPU per call through httpcore2 and 0.92 ms with a bare connection parsed
by httptools, the C parser uvicorn already uses for our own server side. This module is that
connection, with a pool, behind httpx2's transport interface, so httpx2 stays the one HTTP client API
(its requests, responses, decoding, timeouts and errors). Measured in the same rounds as the build
before it (`bench/http_load.py`, 10 clients): `ask_gemini` 2.48 -> 2.15 ms per call with the memory
store, 2.79 -> 2.36 ms with SQLite.

It serves what the Gemini client sends directly to an origin: requests whose body is already in
memory, on asyncio's own event loop. Everything else (a streamed upload, HEAD, another event loop such
as uvloop or trio) goes to `OneWriteTransport`, httpcore2's pool under the same one-write connections.
Each request goes out in one write (head and body together), as there.
"""

# ruff: noqa: ASYNC109 (httpx2's timeouts come per request, as numbers: no scope to enter around them)

from __future__ import annotations

import asyncio
import collections
import re
import ssl
import time
from collections.abc import AsyncIterator

import httptools
import httpx2

from gemini_interactions_mcp.gemini.loop_stream import HAPPY_EYEBALLS_DELAY, READ_HIGH_WATER, socket_readable
from gemini_interactions_mcp.gemini.transport import (
    KEEPALIVE_EXPIRY,
    MAX_CONNECTIONS,
    MAX_KEEPALIVE_CONNECTIONS,
    OneWriteTransport,
    on_asyncio_own_loop,
)

_DEFAULT_PORTS = {b"http": 80, b"https": 443}
_NO_BODY_METHODS = frozenset({"HEAD", "CONNECT"})
"""Methods whose responses the parser cannot frame without knowing the request (or that open tunnels)."""

MAX_HEAD_BYTES = 100 * 1024
"""A response head still unfinished past this many bytes is refused, as httpcore2 (h11) refuses it: the
parser would keep an endless one in memory, and a server that sends it never times out."""

_HEADER_NAME = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
"""A header name is a token (RFC 9110 5.6.2)."""
_NOT_IN_HEADER_VALUES = re.compile(rb"[\r\n\x00]")
"""A line break would end the header early and start another one (h11 refuses them too)."""

Origin = tuple[bytes, bytes, int]


class _Connection(asyncio.Protocol):
    """One keep-alive connection: one request at a time, its response parsed as the bytes arrive."""

    def __init__(self, origin: Origin) -> None:
        self.origin = origin
        self.transport: asyncio.Transport | None = None
        self.parser: httptools.HttpResponseParser | None = None
        """The current response's parser; None while the connection idles in the pool."""
        self.status = 0
        self.reason = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.head_done = False
        self.head_bytes = 0
        """Bytes fed while the head was unfinished (any 1xx heads before it included)."""
        self.message_done = False
        self.pieces: collections.deque[bytes] = collections.deque()
        self.buffered = 0
        self.reading_paused = False
        self.writing_paused = False
        self.ended = False
        self.broken = False
        """Unusable for another request: closed, failed, sent something unasked, or said `close`."""
        self.error: BaseException | None = None
        self.waiter: asyncio.Future[bool] | None = None
        self.idle_since = 0.0

    # -- asyncio's side ----------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        parser = self.parser
        if parser is None:  # bytes nobody asked for: this connection's framing can no longer be trusted
            self.broken = True
            self._abort()
            return
        try:
            parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade) as exc:  # 101: no tunnels here
            self._fail(httpx2.RemoteProtocolError(f"malformed response from the server ({exc})"))
        if not self.head_done and self.error is None:
            self.head_bytes += len(data)
            if self.head_bytes > MAX_HEAD_BYTES:
                self._fail(
                    httpx2.RemoteProtocolError(f"the response's head runs past {MAX_HEAD_BYTES} bytes")
                )
        self._wake()

    def eof_received(self) -> bool:
        self.ended = True
        self.broken = True
        self._wake()
        return False  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        self.ended = True
        self.broken = True
        if exc is not None and self.error is None:
            self.error = exc
        self._wake()
        self.resume_writing()

    def pause_writing(self) -> None:
        self.writing_paused = True

    def resume_writing(self) -> None:
        self.writing_paused = False
        self._wake()

    # -- httptools' side ---------------------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self.message_done:  # a second response nobody asked for, right behind the first: stop here
            raise httpx2.RemoteProtocolError("the server sent a response nobody asked for")

    def on_status(self, reason: bytes) -> None:
        self.reason += reason

    def on_header(self, name: bytes, value: bytes) -> None:
        # llhttp drops the whitespace before a value, not after it: neither is part of it (RFC 9110 5.5)
        self.headers.append((name, value.rstrip(b" \t")))

    def on_headers_complete(self) -> None:
        assert self.parser is not None
        self.status = self.parser.get_status_code()
        if self.status >= 200:
            self.head_done = True

    def on_body(self, body: bytes) -> None:
        self.pieces.append(body)
        self.buffered += len(body)
        if self.buffered > READ_HIGH_WATER and not self.reading_paused and self.transport is not None:
            self.reading_paused = True
            self.transport.pause_reading()

    def on_message_complete(self) -> None:
        assert self.parser is not None
        if not self.head_done:  # an informational (1xx) response: the real one follows
            self.reason = b""
            self.headers = []
            return
        self.message_done = True
        if not self.parser.should_keep_alive():
            self.broken = True

    # -- the request's side ------------------------------------------------------------------------

    def start(self, data: bytes) -> None:
        """Send one request (head and body in one write) and get ready for its response."""
        assert self.transport is not None
        self.parser = httptools.HttpResponseParser(self)
        self.status = 0
        self.reason = b""
        self.headers = []
        self.head_done = self.message_done = False
        self.head_bytes = 0
        self.transport.write(data)

    async def wait(
        self, timeout: float | None, error: type[httpx2.TimeoutException], request: httpx2.Request
    ) -> None:
        """Until the protocol has news (bytes, an end, a drained write buffer), or `timeout` passes."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[bool] = loop.create_future()
        self.waiter = waiter
        timer = None if timeout is None else loop.call_later(timeout, _expire, waiter)
        try:
            await waiter
        finally:
            self.waiter = None
            if timer is not None:
                timer.cancel()
        if waiter.result():
            raise error("timed out", request=request)

    def failure(self, request: httpx2.Request, what: str) -> httpx2.TransportError:
        """The error to raise for a connection that ended while `what` was still due."""
        if isinstance(self.error, httpx2.TransportError):
            return self.error
        if isinstance(self.error, OSError):  # a reset, as httpcore2 reports it
            return httpx2.ReadError(f"{what}: {self.error}", request=request)
        detail = f"{what}: {self.error}" if self.error is not None else what
        return httpx2.RemoteProtocolError(detail, request=request)

    def next_piece(self) -> bytes | None:
        """A body piece already in, or None."""
        if not self.pieces:
            return None
        piece = self.pieces.popleft()
        self.buffered -= len(piece)
        if self.reading_paused and self.buffered <= READ_HIGH_WATER // 4 and self.transport is not None:
            self.reading_paused = False
            self.transport.resume_reading()
        return piece

    def ends_at_close(self) -> bool:
        """Whether the body is framed by the connection's end (neither a length nor chunks)."""
        names = {name.lower() for name, _ in self.headers}
        return b"content-length" not in names and b"transfer-encoding" not in names

    def request_sent(self) -> bool:
        """Whether asyncio holds none of the request any more. A server may answer before it has read a
        large body and never read the rest: a next request written behind that rest would reach it as
        part of the body (h11 too reuses a connection only once its request has gone out whole)."""
        if self.transport is None or self.transport.get_write_buffer_size():
            return False
        # asyncio's TLS transport encrypts a write at once and hands it to the socket's transport below,
        # which its own count leaves out (no public way down: these names are asyncio's since 3.7)
        below = getattr(getattr(self.transport, "_ssl_protocol", None), "_transport", None)
        return below is None or not below.get_write_buffer_size()

    def reusable(self, now: float, expiry: float) -> bool:
        """Not broken, idle for less than `expiry`, and with nothing to read: a server's close still in
        the kernel (the loop not having run since) counts."""
        return (
            not self.broken
            and now - self.idle_since < expiry
            and self.transport is not None
            and not socket_readable(self.transport)
        )

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(False)

    def _fail(self, error: httpx2.RemoteProtocolError) -> None:
        self.error = error
        self.broken = True
        self._abort()

    def _abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    def close(self) -> None:
        self.broken = True
        self._abort()


def _expire(waiter: asyncio.Future[bool]) -> None:
    if not waiter.done():
        waiter.set_result(True)


class _Body(httpx2.AsyncByteStream):
    """A response's body as it arrives; its connection goes back to the pool once read to the end."""

    def __init__(
        self,
        transport: Http11Transport,
        connection: _Connection,
        request: httpx2.Request,
        timeout: float | None,
    ) -> None:
        self._transport = transport
        self._connection = connection
        self._request = request
        self._timeout = timeout
        self._done = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        connection = self._connection
        while not self._done:
            piece = connection.next_piece()
            if piece is not None:
                yield piece
            elif connection.message_done:
                self._finish(reuse=True)
            elif connection.ended:
                self._finish(reuse=False)
                if connection.error is not None or not connection.ends_at_close():
                    raise connection.failure(self._request, "the server closed the connection mid-body")
            else:
                await connection.wait(self._timeout, httpx2.ReadTimeout, self._request)

    @property
    def arrived(self) -> bool:
        """Whether the whole body is in already: reading the rest of it waits on nothing."""
        return self._done or self._connection.message_done

    async def aclose(self) -> None:
        if not self._done:  # left before its end: the rest of the body would arrive on this connection
            self._finish(reuse=False)

    def _finish(self, *, reuse: bool) -> None:
        self._done = True
        self._transport.release(self._connection, reuse=reuse and not self._connection.pieces)


class Http11Transport(httpx2.AsyncBaseTransport):
    """httpx2's transport interface over `_Connection`s, with httpx2's default pool limits; requests it
    does not serve go to `OneWriteTransport`."""

    def __init__(self) -> None:
        self._ssl_context: ssl.SSLContext | None = None
        self._fallback: OneWriteTransport | None = None
        self._idle: dict[Origin, list[_Connection]] = {}
        self._idle_count = 0
        self._active = 0
        self._slot_waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._closed = False

    def _serves(self, request: httpx2.Request) -> bool:
        if request.method in _NO_BODY_METHODS or request.url.raw_scheme not in _DEFAULT_PORTS:
            return False
        if "transfer-encoding" in request.headers or not on_asyncio_own_loop():
            return False
        try:
            request.content  # noqa: B018 (raises when the body is a stream not read into memory)
        except httpx2.RequestNotRead:
            return False
        return True

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if not self._serves(request):
            if self._fallback is None:
                self._fallback = OneWriteTransport(self._context())
            return await self._fallback.handle_async_request(request)
        if self._closed:
            raise httpx2.ConnectError("the transport is closed", request=request)
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        url = request.url
        origin: Origin = (url.raw_scheme, url.raw_host, url.port or _DEFAULT_PORTS[url.raw_scheme])
        data = _request_bytes(request)
        await self._take_slot(timeouts.get("pool"), request)
        try:
            connection = self._idle_connection(origin) or await self._connect(
                origin, timeouts.get("connect"), request
            )
        except BaseException:
            self._give_slot()
            raise
        try:
            connection.start(data)
            while not connection.head_done:
                if connection.ended:
                    raise connection.failure(request, "the server closed the connection without a response")
                if connection.writing_paused:
                    await connection.wait(timeouts.get("write"), httpx2.WriteTimeout, request)
                else:
                    await connection.wait(timeouts.get("read"), httpx2.ReadTimeout, request)
        except BaseException:
            self.release(connection, reuse=False)
            raise
        return httpx2.Response(
            connection.status,
            headers=connection.headers,
            stream=_Body(self, connection, request, timeouts.get("read")),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": connection.reason},
        )

    def release(self, connection: _Connection, *, reuse: bool) -> None:
        """Hand a connection back: to the pool if it can serve another request, closed otherwise."""
        connection.parser = None
        if (
            reuse
            and not connection.broken
            and connection.request_sent()
            and not self._closed
            and self._idle_count < MAX_KEEPALIVE_CONNECTIONS
        ):
            connection.idle_since = time.monotonic()
            self._idle.setdefault(connection.origin, []).append(connection)
            self._idle_count += 1
        else:
            connection.close()
        self._give_slot()

    def _idle_connection(self, origin: Origin) -> _Connection | None:
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            connection = idle.pop()
            self._idle_count -= 1
            if connection.reusable(now, KEEPALIVE_EXPIRY):
                return connection
            connection.close()
        return None

    async def _connect(self, origin: Origin, timeout: float | None, request: httpx2.Request) -> _Connection:
        scheme, host, port = origin
        name = host.decode("ascii")
        loop = asyncio.get_running_loop()
        context = self._context() if scheme == b"https" else None
        try:
            async with asyncio.timeout(timeout):
                _, connection = await loop.create_connection(
                    lambda: _Connection(origin),
                    name,
                    port,
                    ssl=context,
                    server_hostname=name if context is not None else None,
                    happy_eyeballs_delay=HAPPY_EYEBALLS_DELAY,
                )
        except TimeoutError as exc:
            raise httpx2.ConnectTimeout(f"connecting to {name}:{port} timed out", request=request) from exc
        except OSError as exc:  # ssl.SSLError among them: a refused certificate, a failed handshake
            raise httpx2.ConnectError(str(exc) or type(exc).__name__, request=request) from exc
        return connection

    def _context(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            self._ssl_context = httpx2.create_ssl_context()
            self._ssl_context.set_alpn_protocols(["http/1.1"])  # what both transports speak
        return self._ssl_context

    async def _take_slot(self, timeout: float | None, request: httpx2.Request) -> None:
        if self._active < MAX_CONNECTIONS and not self._slot_waiters:
            self._active += 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._slot_waiters.append(waiter)
        try:
            async with asyncio.timeout(timeout):
                await waiter
        except BaseException as exc:
            if waiter.done() and not waiter.cancelled():
                self._give_slot()  # handed a slot as it was cancelled or timed out: pass it on
            elif waiter in self._slot_waiters:  # `_give_slot` may have passed over it already
                self._slot_waiters.remove(waiter)
            if isinstance(exc, TimeoutError):
                raise httpx2.PoolTimeout("no connection came free in time", request=request) from exc
            raise

    def _give_slot(self) -> None:
        while self._slot_waiters:
            waiter = self._slot_waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the slot passes straight to the next waiter
                return
        self._active -= 1

    async def aclose(self) -> None:
        self._closed = True
        for idle in self._idle.values():
            for connection in idle:
                connection.close()
        self._idle.clear()
        self._idle_count = 0
        if self._fallback is not None:
            await self._fallback.aclose()


def _request_bytes(request: httpx2.Request) -> bytes:
    """The request as it goes on the wire: its line, its headers (httpx2 has set Host and the body's
    length), and its body."""
    url = request.url
    lines = [request.method.encode("ascii"), b" ", url.raw_path, b" HTTP/1.1\r\n"]
    for name, value in request.headers.raw:
        if not _HEADER_NAME.fullmatch(name) or _NOT_IN_HEADER_VALUES.search(value):
            raise httpx2.LocalProtocolError(  # not the header itself: it may hold a key
                "a request header's name is not a token, or its value holds a line break or NUL",
                request=request,
            )
        lines += (name, b": ", value, b"\r\n")
    lines += (b"\r\n", request.content)
    return b"".join(lines)
