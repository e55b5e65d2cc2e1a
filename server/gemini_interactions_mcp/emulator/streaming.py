"""Serving the event timeline as SSE, paced by simulated time.

Events whose moment has passed are sent at once (so a finished interaction replays instantly, which
keeps the buffering in-process transport usable); later ones are waited for in short sleeps that also
notice a cancellation. A `drop_stream` fault ends the body early without `[DONE]`, like a cut
connection.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
from starlette.responses import StreamingResponse

from .emulator import Emulator
from .errors import bad_request
from .events import DONE_FRAME, timeline
from .faults import Fault
from .store import InteractionRecord

_POLL = 0.05


def start_index(record: InteractionRecord, last_event_id: str | None) -> int:
    """Position of the first event to send: 0, or just after `last_event_id`."""
    if last_event_id is None:
        return 0
    for i, event in enumerate(timeline(record)):
        if event.event_id == last_event_id:
            return i + 1
    raise bad_request(f"Unknown last_event_id '{last_event_id}' for interaction '{record.id}'.")


def sse_response(
    emu: Emulator, record: InteractionRecord, first: int, drop: Fault | None
) -> StreamingResponse:
    return StreamingResponse(
        _frames(emu, record, first, drop),
        media_type="text/event-stream",
        headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
    )


async def _frames(
    emu: Emulator, record: InteractionRecord, index: int, drop: Fault | None
) -> AsyncIterator[bytes]:
    sent = 0
    while True:
        if drop is not None and sent >= drop.after_events:
            return
        events = timeline(record)
        if index >= len(events):
            yield DONE_FRAME
            return
        event = events[index]
        elapsed = emu.now() - record.started
        if event.at > elapsed:
            await anyio.sleep(min(event.at - elapsed, _POLL))
            continue
        yield event.frame()
        index += 1
        sent += 1
        if event.event_type == "step.delta" and elapsed < record.finish_offset() and emu.config.step_delay:
            await anyio.sleep(emu.config.step_delay)
