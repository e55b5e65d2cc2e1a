"""Heartbeats: a progress note at least every `HEARTBEAT_SECONDS` for each turn waiting on a silent Gemini.

Progress-aware clients reset their timeout on each notification, so a turn must say something while a
model thinks in silence. One task serves every turn in flight: a turn only registers while it streams
and records when it last spoke. (A task and task group per turn cost about 0.1 ms of CPU on every call,
most of which never lasts long enough to need a heartbeat; bench/http_load.py.)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

import anyio

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 10.0
Progress = Callable[[str], Awaitable[None]]


class Watch:
    """One waiting turn: where its notes go, what it waits for, and when it last sent one. Registered
    with its `Heartbeats` while the `with` block runs (a plain class, not a generator-based context
    manager: every turn enters one)."""

    def __init__(
        self, heartbeats: Heartbeats, progress: Progress, waiting_for: str, on_drain: Callable[[], None]
    ) -> None:
        self._heartbeats = heartbeats
        self.progress = progress
        self.waiting_for = waiting_for
        self.on_drain = on_drain
        self.drained = False
        """The process began draining while this turn waited (see `drain`)."""
        self.started = self.last_note = time.monotonic()

    def __enter__(self) -> Watch:
        self._heartbeats._register(self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._heartbeats._unregister(self)

    def drain(self) -> None:
        self.drained = True
        self.on_drain()

    async def note(self, message: str) -> None:
        """Send a note now (the turn's own progress), which also resets the heartbeat."""
        self.last_note = time.monotonic()
        await self.progress(message)

    async def beat(self) -> None:
        """The heartbeat itself; best effort, since the call it belongs to may end meanwhile."""
        elapsed = int(time.monotonic() - self.started)
        try:
            await self.progress(f"Waiting for {self.waiting_for}… {elapsed} s")
        except Exception as exc:  # the client went away or the call just ended: nothing to tell
            log.debug("heartbeat for %s not sent: %s", self.waiting_for, type(exc).__name__)


class Heartbeats:
    """`with heartbeats.watch(progress, "gemini-3.5-flash") as watch:` while a turn streams; `run()` is
    the one task (in the app's task group) that sends the heartbeats due."""

    def __init__(self, interval: float = HEARTBEAT_SECONDS) -> None:
        self._interval = interval
        self._watches: set[Watch] = set()
        self._added = anyio.Event()
        self._draining = False

    def watch(
        self, progress: Progress, waiting_for: str, *, on_drain: Callable[[], None] = lambda: None
    ) -> Watch:
        """A turn to register while it streams (`with`); `on_drain` hands it back (ends its wait) on a
        drain."""
        return Watch(self, progress, waiting_for, on_drain)

    def _register(self, watch: Watch) -> None:
        if self._draining:
            watch.drain()
        self._watches.add(watch)
        self._added.set()

    def _unregister(self, watch: Watch) -> None:
        self._watches.discard(watch)

    def drain(self) -> None:
        """The process is stopping: every turn in flight, and every later one, is handed back now."""
        self._draining = True
        for watch in list(self._watches):
            watch.drain()

    async def run(self) -> None:
        """Send each watched turn's heartbeat when it has been silent for the interval, until cancelled."""
        async with anyio.create_task_group() as notes:
            while True:
                if not self._watches:
                    self._added = anyio.Event()
                    await self._added.wait()
                now = time.monotonic()
                wake = now + self._interval
                for watch in list(self._watches):
                    due = watch.last_note + self._interval
                    if due <= now:
                        watch.last_note = now
                        notes.start_soon(watch.beat)  # a slow client must not hold up the others
                        due = now + self._interval
                    wake = min(wake, due)
                await anyio.sleep(wake - now)
