"""A streamed interaction that survives dropped connections.

The API streams an interaction as SSE events, each carrying an `event_id`. When the connection drops
(EOF before `[DONE]` / `interaction.completed`, or a transport error mid-body) and the interaction is
stored, `GET /interactions/{id}?stream=true&last_event_id=<last seen>` continues after the last event
we saw. Events are never yielded twice: ids already seen are skipped, and if the server sends no ids
at all the replayed prefix is skipped by count. Reconnects are bounded by `max_reconnects` attempts in
a row without progress; any new event resets the count, so a long run on a flaky network goes on.

An in-stream `error` event raises StreamError (typed, with the interaction id) rather than being
yielded: the MCP layer needs a failure it can explain, and nothing follows an error event anyway.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from types import TracebackType
from typing import Self

import anyio
import httpx2
from pydantic import ConfigDict, TypeAdapter, ValidationError

from gemini_interactions_mcp.gemini import errors
from gemini_interactions_mcp.gemini.models import (
    ErrorEvent,
    InteractionCompletedEvent,
    InteractionCreatedEvent,
    InteractionEvent,
    InteractionStatusUpdateEvent,
    UnknownEvent,
)
from gemini_interactions_mcp.gemini.models._open import known_only
from gemini_interactions_mcp.gemini.sse import message_batches

log = logging.getLogger(__name__)

OpenFirst = Callable[[], Awaitable[httpx2.Response]]
OpenResume = Callable[[str, str | None], Awaitable[httpx2.Response]]


_ADAPTER_CONFIG = ConfigDict(cache_strings="keys")
"""Only keys are interned: pydantic-core's string cache would otherwise hold every short value it parses
(interaction ids, event ids), about 1 MB of a long-running server (bench/conversation_memory.py)."""


@functools.cache
def event_adapter() -> TypeAdapter[InteractionEvent]:
    """Built on first use, not at import: start-up time is what an IDE user feels."""
    return TypeAdapter(InteractionEvent, config=_ADAPTER_CONFIG)


@functools.cache
def _known_event_adapter() -> TypeAdapter[InteractionEvent]:
    """Known event types only (`known_only`): a turn's events validate in 31 µs instead of 43."""
    return TypeAdapter(known_only(InteractionEvent, "event_type"), config=_ADAPTER_CONFIG)


def parse_event(data: str) -> InteractionEvent | None:
    """One event from its `data:` JSON, never dropped silently.

    An event of a known type whose payload does not match our model (the service changes shapes
    before the docs do) is logged at WARNING and kept as an UnknownEvent with all its fields; only data
    that is not a JSON object at all is skipped, also with a WARNING.
    """
    try:
        return _known_event_adapter().validate_json(data)
    except ValidationError:
        pass  # another type, or not our model of it: the open union reads it as before
    try:
        return event_adapter().validate_json(data)
    except ValidationError as exc:
        problem = exc.errors()[0]
    try:
        kept = UnknownEvent.model_validate_json(data)
    except ValidationError:
        log.warning("skipping stream data that is not an event object (%d chars)", len(data))
        return None
    where = ".".join(str(part) for part in problem["loc"])
    log.warning(
        "stream event %r does not match its schema at %s (%s); kept unparsed",
        kept.event_type,
        where,
        problem["type"],
    )
    return kept


DRAIN_MAX_BYTES = 64 * 1024
DRAIN_MAX_SECONDS = 2.0


def body_arrived(response: httpx2.Response) -> bool:
    """Whether `response`'s whole body is in memory already, as far as its stream can tell (our HTTP/1.1
    transport's can: `arrived`; any other stream says no)."""
    return bool(getattr(response.stream, "arrived", False))


async def _drain(chunks: AsyncIterator[bytes], *, arrived: bool) -> None:
    """Read what follows `[DONE]` to the end of the body (normally nothing but the chunked-encoding
    terminator). A response closed before its end takes its connection down with it, so every turn
    would open a new one (a TLS handshake each time against Google); read to the end, it goes back to
    the pool. Bounded, in case a server keeps talking after `[DONE]`: in bytes, and in time unless the
    whole body has `arrived` already (reading it then waits on nothing, and the time limit's cancel
    scope and timer cost 9 µs)."""
    with contextlib.ExitStack() as bounds:
        if not arrived:
            bounds.enter_context(anyio.move_on_after(DRAIN_MAX_SECONDS))
        with contextlib.suppress(httpx2.TransportError):
            read = 0
            async for chunk in chunks:
                read += len(chunk)
                if read > DRAIN_MAX_BYTES:
                    return


class InteractionStream:
    """`async with client.stream_create(body) as stream: async for event in stream: ...`

    Attributes: `interaction_id` (known from `interaction.created`, or given), `last_event_id` (the
    resumption point), `reconnects` (resumptions so far). Leaving the `async with` block closes the
    HTTP response at once, even in the middle of the stream.
    """

    def __init__(
        self,
        open_first: OpenFirst,
        open_resume: OpenResume,
        *,
        max_reconnects: int,
        interaction_id: str | None = None,
        last_event_id: str | None = None,
        resumable: bool = True,
    ) -> None:
        self._open_first = open_first
        self._open_resume = open_resume
        self._max_reconnects = max_reconnects
        self._resumable = resumable
        self.interaction_id = interaction_id
        self.last_event_id = last_event_id
        self.reconnects = 0
        self._response: httpx2.Response | None = None
        self._events: AsyncIterator[InteractionEvent] | None = None
        self._seen_ids: set[str] = set()
        self._seen_count = 0
        self._entered = False

    async def __aenter__(self) -> Self:
        self._response = await self._open_first()
        self._entered = True
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop: close the generator and the HTTP response (idempotent)."""
        events, self._events = self._events, None
        if events is not None and hasattr(events, "aclose"):
            await events.aclose()
        response, self._response = self._response, None
        if response is not None:
            await response.aclose()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> InteractionEvent:
        if not self._entered:
            raise RuntimeError("use the stream inside `async with`, which opens and closes it")
        if self._events is None:
            self._events = self._run()
        return await anext(self._events)

    async def _run(self) -> AsyncIterator[InteractionEvent]:
        failures = 0
        while self._response is not None:
            response = self._response
            progressed = finished = False
            skip = self._seen_count if self.reconnects and self.last_event_id is None else 0
            chunks = response.aiter_bytes()
            batches = message_batches(chunks)
            try:
                async for batch in batches:
                    for message in batch:
                        if message.is_done:
                            await _drain(chunks, arrived=body_arrived(response))
                            return
                        event = parse_event(message.data)
                        if event is None:
                            continue
                        if skip:
                            skip -= 1
                            continue
                        if event.event_id is not None:
                            if event.event_id in self._seen_ids:
                                continue
                            self._seen_ids.add(event.event_id)
                            self.last_event_id = event.event_id
                        self._seen_count += 1
                        self._note(event)
                        progressed = True
                        yield event
                        finished = finished or isinstance(event, InteractionCompletedEvent)
                reason = "the stream ended before the interaction finished"
            except httpx2.TimeoutException as exc:
                reason = f"reading the stream timed out ({type(exc).__name__})"
            except httpx2.TransportError as exc:
                reason = f"the connection failed ({type(exc).__name__})"
            finally:
                await batches.aclose()  # closes the chain now, not at garbage collection
                await response.aclose()
            if finished:
                return
            failures = 0 if progressed else failures + 1
            self._response = None
            await self._reconnect(reason, failures)

    def _note(self, event: InteractionEvent) -> None:
        if isinstance(event, InteractionCreatedEvent) and event.interaction.id:
            self.interaction_id = event.interaction.id
        elif isinstance(event, InteractionStatusUpdateEvent) and event.interaction_id:
            self.interaction_id = self.interaction_id or event.interaction_id
        elif isinstance(event, ErrorEvent):
            raise errors.StreamError(
                event.error.message or "the stream reported an error",
                code=event.error.code,
                interaction_id=self.interaction_id,
            )

    async def _reconnect(self, reason: str, failures: int) -> None:
        if not self._resumable or not self.interaction_id:
            raise errors.StreamError(
                f"Stream interrupted: {reason}; it cannot be resumed (not stored, or no id yet).",
                interaction_id=self.interaction_id,
            )
        if failures > self._max_reconnects:
            raise errors.StreamError(
                f"Stream interrupted: {reason}; gave up after {failures - 1} reconnects without progress.",
                interaction_id=self.interaction_id,
            )
        self.reconnects += 1
        log.info(
            "resuming the stream of %s after event %s (%s)", self.interaction_id, self.last_event_id, reason
        )
        self._response = await self._open_resume(self.interaction_id, self.last_event_id)
