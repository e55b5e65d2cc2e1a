"""Holding a store lease for the length of a piece of work: wait for it, keep it renewed, give it back.

The store offers the primitive (`acquire_lease`, `renew_lease`, `release_lease`); this is how work
uses it. `hold_lease` polls for a busy lease with a growing pause (the SQLite store has no way to be
told when another process lets go), renews it in the background at a third of its time to live, and
releases it however the work ends. Most leased work (a turn) ends long before a third of the time to
live, so the renewals are a timer on the event loop that starts them only then: a task group with a
renewal task per lease cost about 240 µs of CPU even when it never renewed, as much as the rest of the
turn's store calls together. A renewal the store could not take is retried soon, not a third of
the time to live later. If renewals fail until the lease has run out (the store was unreachable for
that long), or the store says the lease is someone else's now (this process stalled past its time),
`Lease.lost` says so: the work may now also run elsewhere and should stop.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field

import anyio

from gemini_interactions_mcp.state.base import Store
from gemini_interactions_mcp.state.errors import LeaseBusyError, StoreError

DEFAULT_TTL_SECONDS = 30.0
FIRST_RETRY_SECONDS = 0.02
LONGEST_RETRY_SECONDS = 0.25
RETRY_FRACTION = 10
"""A renewal that failed is tried again after this fraction of the time to live."""

Acquire = Callable[[str, str, float], Awaitable[bool]]
"""Takes a lease (key, holder, ttl): `Store.acquire_lease`, or a caller's that also reads under it."""


def new_holder_id() -> str:
    """A holder id unique to this process and call site: host, process id and a random tail."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(6)}"


@dataclass
class Lease:
    key: str
    holder: str
    lost: anyio.Event = field(default_factory=anyio.Event)
    released: bool = False
    """Given back already, with the work's last write (`Store.advance_conversation_and_release`)."""


@asynccontextmanager
async def hold_lease(
    store: Store,
    key: str,
    holder: str,
    *,
    wait: float,
    ttl: float = DEFAULT_TTL_SECONDS,
    acquire: Acquire | None = None,
) -> AsyncIterator[Lease]:
    """Hold the lease `key` while the body runs; LeaseBusyError if it stays taken for `wait` seconds.
    Whatever the body raises comes out as itself (not wrapped in an exception group). `acquire` takes
    the lease instead of `store.acquire_lease` (one that reads what the body needs in the same call)."""
    take = acquire or store.acquire_lease
    deadline = anyio.current_time() + wait
    pause = FIRST_RETRY_SECONDS
    while not await take(key, holder, ttl):
        left = deadline - anyio.current_time()
        if left <= 0:
            raise LeaseBusyError(f"{key!r} stayed busy in another server process for {wait:g} s; try again.")
        await anyio.sleep(min(pause, left))
        pause = min(pause * 2, LONGEST_RETRY_SECONDS)
    lease = Lease(key, holder)
    held_until = anyio.current_time() + ttl
    try:
        async with _renewed(store, lease, ttl, held_until):
            yield lease
    finally:
        # A release that fails is harmless (the lease expires on its own); the work's outcome matters more.
        if not lease.released:
            with anyio.CancelScope(shield=True), suppress(StoreError):
                await store.release_lease(key, holder)


@asynccontextmanager
async def _renewed(store: Store, lease: Lease, ttl: float, held_until: float) -> AsyncIterator[None]:
    """Keep `lease` renewed while the body runs, from a third of its time to live on (a timer and a task
    of asyncio's: the event loop this server runs on)."""
    loop = asyncio.get_running_loop()
    renewals: list[asyncio.Task[None]] = []
    done = anyio.Event()
    timer = loop.call_later(
        ttl / 3, lambda: renewals.append(loop.create_task(_keep_renewed(store, lease, ttl, held_until, done)))
    )
    try:
        yield
    finally:
        timer.cancel()
        done.set()  # the renewals end at their next step even if a cancellation is swallowed below them
        for task in renewals:
            task.cancel()
            with anyio.CancelScope(shield=True), suppress(asyncio.CancelledError):
                await task


async def _keep_renewed(store: Store, lease: Lease, ttl: float, held_until: float, done: anyio.Event) -> None:
    """Renew now and then at a third of the time to live; after a failed renewal (store unreachable)
    try again at a tenth of it, until the lease has run out by this process's clock (`held_until`): it
    is then lost, since another process may have taken it meanwhile (and after a stall, the next
    renewal tells whether one did). Ends once `done` is set: a cancellation alone is not enough, since
    redis-py can turn one that meets its command timeout into a timeout error, which reads as a failed
    renewal (the work's exit then waited for this loop forever)."""
    while not done.is_set():
        asked = anyio.current_time()
        try:
            renewed = await store.renew_lease(lease.key, lease.holder, ttl)
        except StoreError:
            if anyio.current_time() >= held_until:
                lease.lost.set()
                return
            with anyio.move_on_after(min(ttl / RETRY_FRACTION, held_until - anyio.current_time())):
                await done.wait()
            continue
        if not renewed:
            lease.lost.set()
            return
        held_until = asked + ttl
        with anyio.move_on_after(ttl / 3):
            await done.wait()
