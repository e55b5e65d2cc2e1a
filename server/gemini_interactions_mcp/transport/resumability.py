"""Resumable 2025-era response streams: a bounded event store, scoped to one session.

A 2025-11-25 client whose SSE response breaks reconnects with `GET` + `Last-Event-ID` and expects what it
missed. The SDK stores each outbound message under a stream id that is the JSON-RPC request id, and
request ids repeat across sessions (every client counts from 0): one store shared by all sessions would
replay bob's result for request 5 to alice resuming her request 5. So every session gets its own view,
and an event id means something only inside the session that minted it.

Memory is bounded for all sessions together: past `max_bytes`, the oldest events are dropped first (a
client that comes back that late re-issues its request). 2026-07-28 has no resumption (a broken request
is re-sent), and the store is per process: behind a load balancer a 2025-era session sticks to its
replica anyway (manifests/haproxy.cfg), since the session itself lives only there.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from mcp.server.streamable_http import EventCallback, EventId, EventMessage, EventStore, StreamId
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.types import JSONRPCMessage, jsonrpc_message_adapter

from gemini_interactions_mcp.gemini.units import MIB

DEFAULT_MAX_BYTES = 16 * MIB
EVENT_OVERHEAD_BYTES = 200  # bookkeeping per event, so a flood of tiny events is bounded too
RETRY_MILLISECONDS = 2000  # the SSE `retry` hint: how soon a cut-off client should reconnect


@dataclass(slots=True)
class _Event:
    session: SessionEvents
    stream_id: StreamId
    payload: bytes | None  # the message as JSON; None for a stream's priming event

    @property
    def size(self) -> int:
        return EVENT_OVERHEAD_BYTES + (len(self.payload) if self.payload is not None else 0)


class EventBuffer:
    """The events of every session, oldest first, within one memory budget."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self.stored_bytes = 0
        self._events: OrderedDict[int, _Event] = OrderedDict()
        self._ids = itertools.count(1)

    def open_session(self) -> SessionEvents:
        return SessionEvents(self)

    def close_session(self, session: SessionEvents) -> None:
        """Forget a finished session's events at once (nobody can resume them any more)."""
        for event_id in session.ids:
            event = self._events.pop(event_id, None)
            if event is not None:
                self.stored_bytes -= event.size
        session.ids.clear()

    def add(self, session: SessionEvents, stream_id: StreamId, payload: bytes | None) -> int:
        event_id = next(self._ids)
        event = _Event(session, stream_id, payload)
        self._events[event_id] = event
        session.ids[event_id] = None
        self.stored_bytes += event.size
        while self.stored_bytes > self.max_bytes and self._events:
            old_id, old = self._events.popitem(last=False)
            old.session.ids.pop(old_id, None)
            self.stored_bytes -= old.size
        return event_id

    def get(self, event_id: int) -> _Event | None:
        return self._events.get(event_id)


class SessionEvents(EventStore):
    """One session's view of the buffer: it stores and replays only its own events."""

    def __init__(self, buffer: EventBuffer) -> None:
        self._buffer = buffer
        self.ids: dict[int, None] = {}  # this session's live event ids, in order (an ordered set)

    async def store_event(self, stream_id: StreamId, message: JSONRPCMessage | None) -> EventId:
        payload = None
        if message is not None:
            payload = message.model_dump_json(by_alias=True, exclude_unset=True).encode()
        return str(self._buffer.add(self, stream_id, payload))

    async def replay_events_after(
        self, last_event_id: EventId, send_callback: EventCallback
    ) -> StreamId | None:
        """Send this session's later events of the stream `last_event_id` belongs to.

        An id from another session, an evicted one or garbage finds nothing here: None, as for a stream
        that never existed.
        """
        try:
            after = int(last_event_id)
        except ValueError:
            return None
        if after not in self.ids:
            return None
        first = self._buffer.get(after)
        if first is None:
            return None
        later = [(event_id, self._buffer.get(event_id)) for event_id in list(self.ids) if event_id > after]
        for event_id, event in later:
            if event is None or event.stream_id != first.stream_id or event.payload is None:
                continue
            message = jsonrpc_message_adapter.validate_json(event.payload, by_name=False)
            await send_callback(EventMessage(message, str(event_id)))
        return first.stream_id


def resume_per_session(manager: StreamableHTTPSessionManager, buffer: EventBuffer) -> None:
    """Give every 2025-era session the manager admits its own view of `buffer`, freed when it ends.

    The SDK hands its one `event_store` to every session and offers no per-session hook, so this wraps
    the manager's private `_admit_session` (which reads `event_store` when it builds the session's
    transport, under the session-creation lock) and `_discard_session`. This is the only place that
    touches them; tests/mcp_server/test_resumability.py fails if an SDK update changes them.
    """
    admit = manager._admit_session
    discard = manager._discard_session
    views: dict[str, SessionEvents] = {}

    def admit_with_own_events(requestor: Any) -> Any:
        view = buffer.open_session()
        manager.event_store = view
        try:
            transport = admit(requestor)
        finally:
            manager.event_store = None
        if transport is None or transport.mcp_session_id is None:
            buffer.close_session(view)
            return transport
        views[transport.mcp_session_id] = view
        return transport

    async def discard_with_events(session_id: str, transport: Any) -> None:
        try:
            await discard(session_id, transport)
        finally:
            view = views.pop(session_id, None)
            if view is not None:
                buffer.close_session(view)

    setattr(manager, "_admit_session", admit_with_own_events)  # noqa: B010 (instance override, see docstring)
    setattr(manager, "_discard_session", discard_with_events)  # noqa: B010
