"""Rounds of tool calls in flight: they run apart from whoever waits for them, so a caller's deadline
can hand a running round to a background job instead of cutting it short or outwaiting it.

A round runs in the server's task group, registered under a key: the interaction whose calls it
answers, which is the id of the job that adopts that interaction when the caller's `wait_seconds`
passes. The caller waits for the round up to its deadline; past it the round goes on, and the job's
watcher collects it (`collect`): it waits for its results instead of running the calls again. The round
stays registered until it is done, so the end of its job stops it whether or not the watcher came first.

Whoever waits for a round and is cancelled (the MCP client cancelled the request) cancels it, since
nobody else will read its results; so does the end of the job it belongs to (`cancel`, e.g. on
`cancel_interaction`). A process that stops cancels its rounds with the rest of its work: the job goes
on elsewhere or after a restart as any job whose calls were under way does.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

import anyio
from anyio.abc import TaskGroup

from gemini_interactions_mcp.services.heartbeats import Progress

T = TypeVar("T")


class RoundCancelled(Exception):
    """The round was cancelled before it finished (its job ended): it has no results."""


class Round(Generic[T]):
    """One round in flight: its result once done, and where its progress notes go meanwhile."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        """Where the round's notes go: the waiting caller's, then nowhere, then the job's."""
        self._scope = anyio.CancelScope()
        self._done = anyio.Event()
        self._value: T | None = None
        self._error: Exception | None = None

    async def note(self, text: str) -> None:
        if self.progress is not None:
            await self.progress(text)

    def cancel(self) -> None:
        self._scope.cancel()

    async def result(self) -> T:
        """The round's result once it is done (a waiter that is cancelled cancels the round);
        RoundCancelled if it was cancelled before it finished."""
        await self.done_within(math.inf)
        if self._error is not None:
            raise self._error
        if self._value is None:
            raise RoundCancelled
        return self._value

    async def done_within(self, seconds: float) -> bool:
        """Whether the round is done within `seconds` (if not, it goes on). A waiter that is cancelled
        cancels the round: nobody else would read its results."""
        try:
            with anyio.move_on_after(seconds):
                await self._done.wait()
        except BaseException:
            self.cancel()
            raise
        return self._done.is_set()

    async def _run(self, work: Callable[[Round[T]], Awaitable[T]]) -> None:
        try:
            with self._scope:
                self._value = await work(self)
        except Exception as exc:  # handed to the waiter, who raises it in its own task
            self._error = exc
        finally:
            self._done.set()


class RoundsInFlight(Generic[T]):
    """The rounds of this process, each under its key until its waiter or its job's watcher collects it."""

    def __init__(self, task_group: TaskGroup) -> None:
        self._tg = task_group
        self._rounds: dict[str, Round[T]] = {}

    async def run(
        self,
        key: str,
        work: Callable[[Round[T]], Awaitable[T]],
        *,
        progress: Progress | None,
        within: float = math.inf,
    ) -> T | None:
        """Run `work` (given its round, for notes) apart from the caller, under `key`, and wait for it
        up to `within` seconds: its result, or None when that time passed first. Then the round goes
        on, registered under `key` with its notes going nowhere, until collected or cancelled."""
        running = Round[T](progress)
        self._rounds[key] = running
        self._tg.start_soon(running._run, work)
        try:
            done = await running.done_within(within)
        except BaseException:
            self._forget(key, running)
            raise
        if not done:
            running.progress = None
            return None
        self._forget(key, running)
        return await running.result()

    async def collect(self, key: str, progress: Progress | None) -> T | None:
        """The result of the round left running under `key` (None: there is none), its notes going to
        `progress` meanwhile; RoundCancelled if it is cancelled first. It stays registered while it runs:
        the end of its job (`cancel`) must stop it even once its job's watcher waits for it."""
        running = self._rounds.get(key)
        if running is None:
            return None
        running.progress = progress
        try:
            return await running.result()
        finally:
            self._forget(key, running)

    async def cancel(self, key: str) -> None:
        """Cancel the round under `key`, if any (its job ended; an async listener of job ends)."""
        running = self._rounds.pop(key, None)
        if running is not None:
            running.cancel()

    def _forget(self, key: str, running: Round[T]) -> None:
        if self._rounds.get(key) is running:
            del self._rounds[key]
