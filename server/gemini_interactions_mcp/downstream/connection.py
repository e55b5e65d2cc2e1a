"""One downstream MCP server: opened on first use, kept open, restarted with backoff when it dies.

The MCP `Client` is an async context that must be entered and left by one task, so each server has a
supervisor task (in the lifespan's task group) that owns it; callers only wait for it to be ready and
send requests through it (the SDK multiplexes concurrent requests). The supervisor:

- starts the server when the first caller asks (lazy), and lists its tools (cached, filtered by
  `includeTools`/`excludeTools`), refreshing them on `notifications/tools/list_changed` (on 2026-07-28
  connections those arrive only through a `subscriptions/listen` stream, which it keeps open);
- notices death: a stdio server's stderr reaching end-of-file, or a request failing with "connection
  closed"; it then restarts it after a backoff that grows with failures in a row (reset once a run has
  lasted STABLE_SECONDS). After MAX_FAILED_STARTS in a row it waits for the next use to try again.

A stdio server's stderr is drained into DEBUG logs, and its last lines explain a failed start.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any, Literal, TextIO

import anyio
import anyio.from_thread
import anyio.lowlevel
import httpx2
from anyio.abc import TaskGroup, TaskStatus
from mcp import Client, MCPError, StdioServerParameters
from mcp.client.sse import sse_client
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult, Implementation, Tool, ToolListChangedNotification

from gemini_interactions_mcp.downstream.config import ServerConfig
from gemini_interactions_mcp.downstream.masked import MaskedPieces
from gemini_interactions_mcp.gemini.errors import REDACTED

log = logging.getLogger(__name__)

State = Literal["idle", "starting", "ready", "restarting", "failed", "stopped"]
CONNECTION_CLOSED = -32000
REQUEST_TIMEOUT = -32001
START_TIMEOUT_SECONDS = 30.0
STABLE_SECONDS = 30.0
MAX_FAILED_STARTS = 5
BACKOFF_SECONDS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
STDERR_LINES = 20
STDERR_LINE_CHARS = 2_000
"""A longer stderr line is kept (and logged) in pieces of this size: a server that writes without line
breaks must not fill memory, nor put megabytes into an error message."""
LAST_WORDS_SECONDS = 2.0
"""How long a call that lost its stdio server waits for the rest of the server's stderr (its last words
usually say why it died, and the stderr pipe may be read a moment after stdout closed)."""


class DownstreamError(Exception):
    """A downstream server could not be reached or gave up on a request; the message says which."""


class CallTimedOut(DownstreamError):
    pass


class ConnectionLost(DownstreamError):
    pass


def _describe(exc: BaseException) -> str:
    """A one-line reason without secrets: never a URL (it may carry a token), never a header."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, MCPError):
        return exc.error.message
    if isinstance(exc, FileNotFoundError):
        return "command not found"
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    if isinstance(exc, httpx2.HTTPStatusError):
        return f"HTTP {exc.response.status_code}"
    if isinstance(exc, httpx2.HTTPError):
        return f"cannot connect ({type(exc).__name__})"
    if isinstance(exc, TimeoutError):
        return f"no answer within {START_TIMEOUT_SECONDS:.0f} s"
    return type(exc).__name__


class Connection:
    """The live link to one configured server (see the module docstring)."""

    def __init__(
        self,
        config: ServerConfig,
        task_group: TaskGroup,
        client_info: Implementation,
    ) -> None:
        self.config = config
        self.state: State = "idle"
        self.error: str | None = None
        self.tools: list[Tool] = []
        self.restarts = 0
        self._tg = task_group
        self._client_info = client_info
        self._client: Client | None = None
        self._supervising = False
        self._changed = anyio.Event()
        self._wanted = anyio.Event()
        self._broken = anyio.Event()
        self._refresh = anyio.Event()
        self._start_failed = False
        self._stderr: deque[str] = deque(maxlen=STDERR_LINES)
        self._stderr_closed: anyio.Event | None = None

    # -- what callers use --------------------------------------------------------------------------

    async def ready(self, within: float = START_TIMEOUT_SECONDS) -> Client:
        """The open client, starting or waiting for the server as needed (DownstreamError if it can't)."""
        if not self._supervising:
            self._supervising = True
            self._tg.start_soon(self._supervise)
        if self.state in ("idle", "failed", "stopped"):
            self._set_state("starting")
        self._wanted.set()
        with anyio.move_on_after(within):
            while True:
                if self.state == "ready" and self._client is not None:
                    return self._client
                if self.state == "failed" or (self.state == "restarting" and self._start_failed):
                    break
                await self._changed.wait()
        raise DownstreamError(self.unavailable())

    def unavailable(self) -> str:
        reason = self.error or f"not ready ({self.state})"
        tail = self._last_words() if self._start_failed else ""
        return f"MCP server {self.config.name!r} is unavailable: {reason}{tail}."

    async def list_tools(self) -> list[Tool]:
        await self.ready()
        return self.tools

    async def call(self, tool: str, arguments: Mapping[str, Any], seconds: float) -> CallToolResult:
        """Call one tool; CallTimedOut past `seconds`, ConnectionLost if the server died meanwhile."""
        started = time.monotonic()
        client = await self.ready(within=seconds)
        stderr_closed = self._stderr_closed
        left = max(0.1, seconds - (time.monotonic() - started))
        try:
            return await client.call_tool(tool, dict(arguments), read_timeout_seconds=left)
        except MCPError as exc:
            if exc.error.code == REQUEST_TIMEOUT:
                raise CallTimedOut(f"no answer within {seconds:g} s (the call was cancelled)") from None
            if exc.error.code == CONNECTION_CLOSED:
                self._mark_broken(self._broken)
                if stderr_closed is not None:
                    with anyio.move_on_after(LAST_WORDS_SECONDS):
                        await stderr_closed.wait()
                raise ConnectionLost(
                    f"the server exited or dropped the connection during the call; it is being restarted"
                    f"{self._last_words()}"
                ) from None
            raise DownstreamError(f"the server refused the call: {exc.error.message}") from None
        except (OSError, httpx2.HTTPError, anyio.BrokenResourceError, anyio.ClosedResourceError) as exc:
            self._mark_broken(self._broken)
            raise ConnectionLost(f"the connection failed during the call ({_describe(exc)})") from None
        except Exception as exc:  # a result the client rejects (malformed, or against its output schema)
            raise DownstreamError(f"its answer is not a valid tool result ({_describe(exc)})") from None

    def _mark_broken(self, broken: anyio.Event) -> None:
        """The connection of this run is dead: no new call may use it; the supervisor restarts."""
        if broken is self._broken and not broken.is_set():
            broken.set()
            self._client = None
            if self.state == "ready":
                self._set_state("restarting")

    def _last_words(self) -> str:
        return f" (its last output: {self._stderr[-1].strip()!r})" if self._stderr else ""

    # -- the supervisor ----------------------------------------------------------------------------

    def _set_state(self, state: State) -> None:
        self.state = state
        changed, self._changed = self._changed, anyio.Event()
        changed.set()

    async def _supervise(self) -> None:
        failures = 0
        while True:
            await self._wanted.wait()
            if self.state != "restarting":
                self._set_state("starting")
            opened = time.monotonic()
            reached_ready = False
            try:
                async with self._open() as client, anyio.create_task_group() as tg:
                    with anyio.fail_after(START_TIMEOUT_SECONDS):
                        if str(client.session.protocol_version) >= "2026":
                            await tg.start(self._listen, client)  # before listing: no change missed
                        await self._load_tools(client)
                    self._client = client
                    self.error = None
                    self._start_failed = False
                    reached_ready = True
                    self._set_state("ready")
                    log.info("MCP server %s ready with %d tools", self.config.name, len(self.tools))
                    await self._serve(client)
                    tg.cancel_scope.cancel()
            except Exception as exc:
                self.error = _describe(exc)
                log.warning("MCP server %s stopped: %s", self.config.name, self.error)
            finally:
                self._client = None
                self._broken = anyio.Event()
            if reached_ready and self.error is None:
                self.error = "the server exited"
            self._start_failed = not reached_ready
            failures = 0 if time.monotonic() - opened >= STABLE_SECONDS else failures + 1
            if failures >= MAX_FAILED_STARTS:
                failures = 0
                self._wanted = anyio.Event()  # dormant until the next use asks again
                self._set_state("failed")
                continue
            self.restarts += 1
            self._set_state("restarting")
            await anyio.sleep(BACKOFF_SECONDS[min(failures, len(BACKOFF_SECONDS)) - 1] if failures else 0.1)

    async def _serve(self, client: Client) -> None:
        """Keep the connection until it breaks, refreshing the tool list whenever it changes."""
        while True:
            async with anyio.create_task_group() as wait:

                async def until(event: anyio.Event, scope: anyio.CancelScope = wait.cancel_scope) -> None:
                    await event.wait()
                    scope.cancel()

                wait.start_soon(until, self._broken)
                wait.start_soon(until, self._refresh)
            if self._broken.is_set():
                return
            self._refresh = anyio.Event()
            with contextlib.suppress(Exception):
                await self._load_tools(client)

    async def _listen(
        self, client: Client, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """2026-07-28 servers send list changes only on a listen stream (the message handler sees them)."""
        try:
            async with client.listen(tools_list_changed=True) as subscription:
                task_status.started()
                async for _ in subscription:
                    pass
        except Exception as exc:  # a server without listen support: changes are then seen on restart only
            log.debug("MCP server %s: no change notifications (%s)", self.config.name, _describe(exc))
            with contextlib.suppress(RuntimeError):
                task_status.started()

    async def _on_message(self, message: Any) -> None:
        if isinstance(message, ToolListChangedNotification):
            self._refresh.set()
        await anyio.lowlevel.checkpoint()

    async def _load_tools(self, client: Client) -> None:
        tools: list[Tool] = []
        cursor: str | None = None
        while True:
            page = await client.list_tools(cursor=cursor, cache_mode="bypass")
            tools += [t for t in page.tools if self.config.allows(t.name)]
            cursor = page.next_cursor
            if not cursor:
                break
        self.tools = tools

    @asynccontextmanager
    async def _open(self) -> AsyncIterator[Client]:
        config = self.config
        async with AsyncExitStack() as stack:
            if config.transport == "stdio":
                errlog = stack.enter_context(self._stderr_pipe())
                params = StdioServerParameters(
                    command=config.command or "",
                    args=list(config.args),
                    env={k: v.get_secret_value() for k, v in config.env.items()} or None,
                    cwd=config.cwd,
                )
                transport: Any = stdio_client(params, errlog=errlog)
            elif config.transport == "sse":
                transport = sse_client(config.url or "", headers=self._headers())
            else:
                http = await stack.enter_async_context(
                    httpx2.AsyncClient(headers=self._headers(), timeout=30.0)
                )
                transport = streamable_http_client(config.url or "", http_client=http)
            client = Client(
                transport, client_info=self._client_info, message_handler=self._on_message, cache=None
            )
            opened = await stack.enter_async_context(client)
            if config.transport == "stdio":
                errlog.close()  # only the child keeps the write end now: end-of-file means it is gone
            yield opened

    def _headers(self) -> dict[str, str]:
        return {k: v.get_secret_value() for k, v in self.config.headers.items()}

    @contextlib.contextmanager
    def _stderr_pipe(self) -> Iterator[TextIO]:
        """A pipe for the child's stderr: drained into DEBUG logs; end-of-file marks the server dead."""
        read_fd, write_fd = os.pipe()
        writer = os.fdopen(write_fd, "w")
        token = anyio.lowlevel.current_token()
        broken = self._broken
        closed = self._stderr_closed = anyio.Event()

        def keep(line: str) -> None:
            self._stderr.append(line)
            log.debug("[%s] %s", self.config.name, line.rstrip())

        def drain() -> None:
            masked = MaskedPieces(self.config.secrets(), REDACTED)
            with os.fdopen(read_fd, encoding="utf-8", errors="replace") as reader:
                for raw in iter(lambda: reader.readline(STDERR_LINE_CHARS), ""):
                    if line := masked.piece(raw, whole=raw.endswith("\n")):
                        keep(line)
            if rest := masked.rest():
                keep(rest)
            with contextlib.suppress(RuntimeError):  # the loop may be gone at shutdown
                anyio.from_thread.run_sync(closed.set, token=token)
                anyio.from_thread.run_sync(self._mark_broken, broken, token=token)

        threading.Thread(target=drain, name=f"stderr-{self.config.name}", daemon=True).start()
        try:
            yield writer
        finally:
            with contextlib.suppress(OSError):
                writer.close()
