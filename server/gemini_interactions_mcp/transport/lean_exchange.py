"""2026-07-28 POSTs answered without the SDK's per-request task group where nothing needs it.

The SDK answers every 2026-07-28 request (`handle_modern_request`) through a memory stream and a task
group of two tasks (the handler, and a watcher of the client's disconnect), waiting up to 15 s for a
first notification before it commits to a JSON answer or to an event stream. That machinery costs
about 0.2 ms of CPU a call, a seventh of the server's whole cost of an `ask_gemini`, though only a
request that carries a progress token can have a notification to send: progress is the one kind this
server sends during a call, and `subscriptions/listen` (a stream by nature) keeps the SDK's own path.

So any other request goes through the SDK's own JSON-answer path (`json_response`), with what the
event-stream path gives it kept around it:
- the client's disconnect cancels the call: a plain asyncio task waits for it, and cancels through an
  anyio cancel scope, as the SDK's task group did (so shielded clean-up, such as cancelling the
  upstream interaction, still runs);
- a call still running after 15 s commits to an event stream and sends a keep-alive comment every
  15 s, so no proxy times it out; its answer is then the stream's one event, as the SDK sends it.
Requests with a progress token, `subscriptions/listen`, other methods than POST and every 2025-era
request go to the SDK's handler untouched.

This reaches into the SDK's privates (`_handle_request` behind the session manager's body limit, and
the modern handler's framing constants); tests/mcp_server/test_lean_exchange.py fails if an SDK update
moves them.
"""

from __future__ import annotations

import asyncio

import anyio
from mcp.server import _streamable_http_modern as modern
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import RequestBodyLimitMiddleware
from mcp.shared.inbound import MCP_METHOD_HEADER, MCP_PROTOCOL_VERSION_HEADER
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from starlette.types import ASGIApp, Message, Receive, Scope, Send

KEEPALIVE_SECONDS: float = modern._SSE_PING_INTERVAL
"""How long a call may run before its answer turns into an event stream, and how often it then pings."""
STREAMING_METHODS = frozenset({"subscriptions/listen"})
PROGRESS_TOKEN = b'"progressToken"'
"""In a request's body, the one thing that may make its call send notifications (a false match, in a
prompt's text, only costs that call the SDK's own path)."""
PING = b": ping\r\n\r\n"
_VERSION_HEADER = MCP_PROTOCOL_VERSION_HEADER.encode("ascii")
_METHOD_HEADER = MCP_METHOD_HEADER.encode("ascii")


def answer_leanly(manager: StreamableHTTPSessionManager) -> None:
    """Put the lean path in front of `manager`'s request handler, inside its request-body limit."""
    limited = manager.asgi_app
    if not isinstance(limited, RequestBodyLimitMiddleware):  # an SDK that builds it otherwise: leave it
        return
    limited.app = _LeanFront(manager, limited.app)


class _LeanFront:
    def __init__(self, manager: StreamableHTTPSessionManager, sdk: ASGIApp) -> None:
        self._manager = manager
        self._sdk = sdk

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not _lean_candidate(scope["headers"]):
            await self._sdk(scope, receive, send)
            return
        first = await receive()  # the whole body, read already by the body limit in front of this
        lean = (
            first["type"] == "http.request"
            and not first.get("more_body", False)
            and PROGRESS_TOKEN not in first.get("body", b"")
        )
        if lean:
            await _Exchange(self._manager, scope, first, receive, send).run()
        else:
            await self._sdk(scope, _replaying(first, receive), send)


def _lean_candidate(headers: list[tuple[bytes, bytes]]) -> bool:
    """A 2026-07-28 request (the SDK's own test: a version header naming no handshake era) for a
    method that is not a stream by nature."""
    version = method = None
    for name, value in headers:
        if name == _VERSION_HEADER:
            version = value.decode("latin-1")
        elif name == _METHOD_HEADER:
            method = value.decode("latin-1")
    return (
        version is not None and version not in HANDSHAKE_PROTOCOL_VERSIONS and method not in STREAMING_METHODS
    )


def _replaying(first: Message, receive: Receive) -> Receive:
    given = [first]

    async def replay() -> Message:
        return given.pop() if given else await receive()

    return replay


class _Exchange:
    """One request answered through the SDK's JSON path, with the disconnect watch and the keep-alive
    stream that its event-stream path would have given it."""

    def __init__(
        self, manager: StreamableHTTPSessionManager, scope: Scope, body: Message, receive: Receive, send: Send
    ) -> None:
        self._manager = manager
        self._scope = scope
        self._body: Message | None = body
        self._receive = receive
        self._send = send
        self._lock = asyncio.Lock()
        self._answering = False
        """The SDK has begun its answer: the call is over, a disconnect now changes nothing."""
        self._streaming = False
        """The answer has turned into an event stream (the call ran past KEEPALIVE_SECONDS)."""
        self._cancel = anyio.CancelScope()
        self._pinger: asyncio.Task[None] | None = None

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        watcher = loop.create_task(self._watch())
        timer = loop.call_later(KEEPALIVE_SECONDS, self._keep_alive)
        try:
            with self._cancel:
                manager = self._manager
                await modern.handle_modern_request(
                    manager.app,
                    manager.security_settings,
                    True,
                    manager._lifespan_state,
                    self._scope,
                    self._request,
                    self._answer,
                )
        finally:
            timer.cancel()
            watcher.cancel()
            if self._pinger is not None:
                self._pinger.cancel()

    async def _request(self) -> Message:
        """What the SDK reads: the body, once (it reads nothing more on this path)."""
        body, self._body = self._body, None
        return body if body is not None else await self._receive()

    async def _watch(self) -> None:
        while (await self._receive())["type"] != "http.disconnect":
            pass
        if not self._answering:
            self._cancel.cancel()

    def _keep_alive(self) -> None:
        self._pinger = asyncio.get_running_loop().create_task(self._ping())

    async def _ping(self) -> None:
        while True:
            async with self._lock:
                if self._answering:
                    return
                if not self._streaming:
                    await self._send(
                        {"type": "http.response.start", "status": 200, "headers": modern._SSE_HEADERS}
                    )
                    self._streaming = True
                await self._send({"type": "http.response.body", "body": PING, "more_body": True})
            await asyncio.sleep(KEEPALIVE_SECONDS)

    async def _answer(self, message: Message) -> None:
        """The SDK's answer: passed on as it is, or, once the answer is a stream, as its one event."""
        async with self._lock:
            if message["type"] == "http.response.start":
                self._answering = True
                if self._streaming:
                    return
            elif self._streaming and message["type"] == "http.response.body":
                body: bytes = message.get("body", b"")
                message = {"type": "http.response.body", "body": _event(body), "more_body": False}
            await self._send(message)


def _event(answer: bytes) -> bytes:
    """A JSON answer as the event-stream path frames it (`event: message`, its JSON on one line)."""
    return b"event: message\r\ndata: " + answer + b"\r\n\r\n"
