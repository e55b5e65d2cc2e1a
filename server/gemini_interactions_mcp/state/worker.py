"""One dedicated thread that runs a store's blocking calls in order, with cheap hand-offs, and runs them
on the caller's own thread instead whenever that cannot block it.

Why not `anyio.to_thread.run_sync` per call: measured on the 2-core reference machine, it costs about
105 µs of CPU per call with one caller and 190 µs with ten concurrent callers (a pool of threads
contending for one connection). Here the event loop hands work over through a queue, and the thread
hands results back in batches: one wake-up of the loop delivers everything finished meanwhile. That
is about 40 µs per call with one caller and under 10 µs each under load, and the loop still never
waits for the disk.

Why a call may run on the caller's thread: a hand-off still costs more than the work of a short call
under load. Python's sqlite3 lets go of the interpreter lock around every step of every statement, so
while the event loop is busy each statement on the worker thread costs a round of the lock between the
two threads (measured with ten HTTP clients: 4.5 voluntary and 3 involuntary context switches and about
0.1 ms of CPU per `ask_gemini` call, more than its SQL itself). So a caller may offer a version of the
call that is safe to run where it is (`run(here=...)`): it runs there when the worker thread is idle,
and hands the call over to the thread when it finds that it would have to wait (`HandOver`).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import suppress
from enum import Enum
from typing import Any, Literal, TypeVar

import anyio
import anyio.to_thread

log = logging.getLogger(__name__)

T = TypeVar("T")


class HandOver(Enum):
    """What a call tried on the caller's thread returns when it must run on the worker thread after all
    (it found it would have to wait: for a lock, for the disk). It must have changed nothing."""

    TO_THREAD = "to the worker thread"


_Outcome = tuple["asyncio.Future[Any]", Any, BaseException | None]
_Job = tuple[
    Callable[[], Any], "asyncio.Future[Any] | Future[Any] | None", "asyncio.AbstractEventLoop | None"
]


class SerialWorker:
    """Runs callables one at a time, in submission order, on its own daemon thread (or, offered one
    that is safe there, on the caller's thread while the worker thread has nothing to do)."""

    def __init__(self, name: str) -> None:
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._busy = threading.Lock()
        """Held by whoever runs a call: the thread, or a caller running one where it is."""
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    async def run(
        self,
        work: Callable[[], T],
        *,
        here: Callable[[], T | Literal[HandOver.TO_THREAD]] | None = None,
    ) -> T:
        """The result of `work()` run on the worker thread, or of `here()` run on this thread.

        `here` is tried first when no call is queued or running (so calls still run one at a time and
        in order); it returns `HandOver.TO_THREAD` to have `work` run on the thread after all.

        Cancelling the caller does not abandon the call: the caller waits for it to finish (as
        `anyio.to_thread.run_sync` does by default), so a cancelled write is either done or not
        started, never in flight behind the caller's back. (A call run here cannot be cancelled at
        all: it is done before the caller could notice a cancellation.)
        """
        if here is not None and self._queue.empty() and self._busy.acquire(blocking=False):
            try:
                done = here()
            finally:
                self._busy.release()
            if done is not HandOver.TO_THREAD:
                return done
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # another event loop (trio): hand over through a plain thread
            finished: Future[T] = Future()
            self._queue.put((work, finished, None))
            return await anyio.to_thread.run_sync(finished.result)
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put((work, future, loop))
        with anyio.CancelScope(shield=True):
            result = await future
        return result

    def post(self, work: Callable[[], None]) -> None:
        """Run `work` on the thread after the calls already queued, with nobody waiting for it (upkeep,
        such as a checkpoint); it handles its own failures (anything it raises is logged)."""
        self._queue.put((work, None, None))

    def stop(self) -> None:
        """Let the thread end once the calls already submitted are done."""
        self._queue.put(None)

    def _serve(self) -> None:
        while True:
            item = self._queue.get()
            batch: dict[asyncio.AbstractEventLoop, list[_Outcome]] = {}
            while item is not None:
                work, future, loop = item
                with self._busy:
                    try:
                        result, error = work(), None
                    except BaseException as exc:  # handed to the caller, who re-raises it
                        result, error = None, exc
                if future is None:
                    if error is not None:
                        log.error("Upkeep of the store failed", exc_info=error)
                elif loop is None:
                    _settle_plain(future, result, error)  # type: ignore[arg-type]
                else:
                    batch.setdefault(loop, []).append((future, result, error))  # type: ignore[arg-type]
                if self._queue.empty():
                    break
                item = self._queue.get()
            for loop, outcomes in batch.items():
                with suppress(RuntimeError):  # that loop has closed: nobody is waiting any more
                    loop.call_soon_threadsafe(_settle, outcomes)
            if item is None:
                return


def _settle(outcomes: list[_Outcome]) -> None:
    for future, result, error in outcomes:
        if future.cancelled():
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)


def _settle_plain(future: Future[Any], result: Any, error: BaseException | None) -> None:
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
