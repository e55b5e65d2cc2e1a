"""Serving the event timeline as SSE, paced by simulated time.

Events whose moment has passed are sent at once, in one chunk (so a finished interaction replays
instantly, which keeps the buffering in-process transport usable, and costs one write); later ones are
waited for in short sleeps that also notice a cancellation, and while a run is producing, its deltas are
paced by `step_delay` like a model's tokens. A `drop_stream` fault ends the body early without `[DONE]`,
like a cut connection.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import anyio
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from .emulator import Emulator
from .errors import bad_request
from .events import DONE_FRAME, Timeline, timeline
from .faults import Fault
from .store import InteractionRecord

_POLL = 0.05
_HEADERS = [
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
    (b"content-type", b"text/event-stream; charset=utf-8"),
]
"""Every stream's headers, rendered once (the order Starlette gives them: the content type last)."""


def start_index(record: InteractionRecord, last_event_id: str | None) -> int:
    """Position of the first event to send: 0, or just after `last_event_id`."""
    if last_event_id is None:
        return 0
    try:
        return timeline(record).ids.index(last_event_id) + 1
    except ValueError:
        raise bad_request(f"Unknown last_event_id '{last_event_id}' for interaction '{record.id}'.") from None


@dataclass
class _Cursor:
    """Where a stream is: the next event to send, and how many it sent (for a `drop_stream` fault)."""

    index: int
    drop: Fault | None
    sent: int = 0

    @property
    def cut(self) -> bool:
        return self.drop is not None and self.sent >= self.drop.after_events

    def take(self, events: Timeline, elapsed: float, paced: bool) -> tuple[bytes, bool]:
        """The frames due by `elapsed` (with pacing, up to the first delta), and whether the body ends
        with them (`[DONE]` included when the stream was not cut)."""
        first = end = self.index
        limit = (
            len(events) if self.drop is None else min(len(events), first + self.drop.after_events - self.sent)
        )
        while end < limit and events.at[end] <= elapsed:
            end += 1
            if paced and events.types[end - 1] == "step.delta":
                break
        self.index = end
        self.sent += end - first
        chunk = b"".join(events.frames[first:end])
        if self.cut:
            return chunk, True
        if self.index >= len(events):
            return chunk + DONE_FRAME, True
        return chunk, False


class _SentAtOnce(Response):
    """A stream whose every event is already due: the same chunked body as a live stream, written with
    one body message, without the task that listens for a disconnect while a live stream waits (there is
    nothing left to wait for)."""

    def __init__(self, chunk: bytes) -> None:
        self.chunk = chunk
        self.status_code = 200
        self.background = None
        self.raw_headers = list(_HEADERS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": self.chunk, "more_body": False})


def sse_response(emu: Emulator, record: InteractionRecord, first: int, drop: Fault | None) -> Response:
    cursor = _Cursor(first, drop)
    events = timeline(record)
    elapsed = emu.now() - record.started
    if events.at[-1] <= elapsed:
        chunk, _ = cursor.take(events, elapsed, paced=False)
        return _SentAtOnce(chunk)
    live = StreamingResponse(_frames(emu, record, cursor))
    live.raw_headers = list(_HEADERS)
    return live


async def _frames(emu: Emulator, record: InteractionRecord, cursor: _Cursor) -> AsyncIterator[bytes]:
    while not cursor.cut:
        events = timeline(record)
        elapsed = emu.now() - record.started
        pace = emu.config.step_delay if elapsed < record.finish_offset() else 0.0
        chunk, ended = cursor.take(events, elapsed, paced=pace > 0)
        if chunk:
            yield chunk
        if ended:
            return
        if not chunk:
            await anyio.sleep(min(events.at[cursor.index] - elapsed, _POLL))
        elif pace and events.types[cursor.index - 1] == "step.delta":
            await anyio.sleep(pace)
