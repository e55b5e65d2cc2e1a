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
import itertools
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress
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


class _HolderIds:
    """Holder ids: this process's host, id and a random tag (drawn once per process, and again in a
    forked child), then a count. Unique as a random tail per id is (two processes, or two lives of one
    pid, share no tag), without the two system calls and the random draw every turn paid for one."""

    def __init__(self) -> None:
        self._prefix = ""
        self._count = itertools.count()
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        self._prefix = ""

    def next(self) -> str:
        if not self._prefix:
            self._prefix = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(6)}"
        return f"{self._prefix}:{next(self._count):x}"


_HOLDER_IDS = _HolderIds()


def new_holder_id() -> str:
    """A holder id unique to this process and call site (see `_HolderIds`)."""
    return _HOLDER_IDS.next()


@dataclass
class Lease:
    key: str
    holder: str
    lost: anyio.Event = field(default_factory=anyio.Event)
    released: bool = False
    """Given back already, with the work's last write (`Store.advance_conversation_and_release`)."""


class hold_lease:
    """`async with hold_lease(store, key, holder, wait=...) as lease:` holds the lease `key` while the
    body runs; LeaseBusyError if it stays taken for `wait` seconds. Whatever the body raises comes out
    as itself (not wrapped in an exception group). `acquire` takes the lease instead of
    `store.acquire_lease` (one that reads what the body needs in the same call).

    A class rather than a generator-based context manager: every turn on a conversation holds one, and
    the generator's machinery (and a second one for the renewals) cost more than the lease itself.
    Times are `time.monotonic()`, asyncio's clock, read directly.
    """

    def __init__(
        self,
        store: Store,
        key: str,
        holder: str,
        *,
        wait: float,
        ttl: float = DEFAULT_TTL_SECONDS,
        acquire: Acquire | None = None,
    ) -> None:
        self._store = store
        self._take = acquire or store.acquire_lease
        self._lease = Lease(key, holder)
        self._wait = wait
        self._ttl = ttl
        self._timer: asyncio.TimerHandle | None = None
        self._renewals: asyncio.Task[None] | None = None
        self._done: anyio.Event | None = None

    async def __aenter__(self) -> Lease:
        lease, ttl = self._lease, self._ttl
        deadline = time.monotonic() + self._wait
        pause = FIRST_RETRY_SECONDS
        while not await self._take(lease.key, lease.holder, ttl):
            left = deadline - time.monotonic()
            if left <= 0:
                raise LeaseBusyError(
                    f"{lease.key!r} stayed busy in another server process for {self._wait:g} s; try again."
                )
            await anyio.sleep(min(pause, left))
            pause = min(pause * 2, LONGEST_RETRY_SECONDS)
        held_until = time.monotonic() + ttl
        self._timer = asyncio.get_running_loop().call_later(ttl / 3, self._start_renewing, held_until)
        return lease

    def _start_renewing(self, held_until: float) -> None:
        """Renewals start only now (a third of the time to live in): most leased work (a turn) is over
        long before, and a task per lease cost about as much as the rest of the turn's store calls."""
        self._done = anyio.Event()
        self._renewals = asyncio.get_running_loop().create_task(
            _keep_renewed(self._store, self._lease, self._ttl, held_until, self._done)
        )

    async def __aexit__(self, *exc_info: object) -> None:
        lease = self._lease
        try:
            if self._timer is not None:
                self._timer.cancel()
            if self._renewals is not None:
                assert self._done is not None
                self._done.set()  # the renewals end at their next step even if a cancellation is swallowed
                self._renewals.cancel()
                with anyio.CancelScope(shield=True), suppress(asyncio.CancelledError):
                    await self._renewals
        finally:
            # A release that fails is harmless (the lease expires on its own): the work's outcome matters.
            if not lease.released:
                with anyio.CancelScope(shield=True), suppress(StoreError):
                    await self._store.release_lease(lease.key, lease.holder)


async def _keep_renewed(store: Store, lease: Lease, ttl: float, held_until: float, done: anyio.Event) -> None:
    """Renew now and then at a third of the time to live; after a failed renewal (store unreachable)
    try again at a tenth of it, until the lease has run out by this process's clock (`held_until`): it
    is then lost, since another process may have taken it meanwhile (and after a stall, the next
    renewal tells whether one did). Ends once `done` is set: a cancellation alone is not enough, since
    redis-py can turn one that meets its command timeout into a timeout error, which reads as a failed
    renewal (the work's exit then waited for this loop forever)."""
    while not done.is_set():
        asked = time.monotonic()
        try:
            renewed = await store.renew_lease(lease.key, lease.holder, ttl)
        except StoreError:
            if time.monotonic() >= held_until:
                lease.lost.set()
                return
            with anyio.move_on_after(min(ttl / RETRY_FRACTION, held_until - time.monotonic())):
                await done.wait()
            continue
        if not renewed:
            lease.lost.set()
            return
        held_until = asked + ttl
        with anyio.move_on_after(ttl / 3):
            await done.wait()
