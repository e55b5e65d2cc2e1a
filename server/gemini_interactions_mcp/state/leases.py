"""Holding a store lease for the length of a piece of work: wait for it, keep it renewed, give it back.

The store offers the primitive (`acquire_lease`, `renew_lease`, `release_lease`); this is how work
uses it. `hold_lease` polls for a busy lease with a growing pause (the SQLite store has no way to be
told when another process lets go), renews it in the background at a third of its time to live, and
releases it however the work ends. If a renewal fails (the store was unreachable for longer than the
lease lives, or the process stalled), `Lease.lost` says so: the work may now also run elsewhere and
should not commit what the lease protected.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field

import anyio

from gemini_interactions_mcp.state.base import Store
from gemini_interactions_mcp.state.errors import LeaseBusyError, StoreError

DEFAULT_TTL_SECONDS = 30.0
FIRST_RETRY_SECONDS = 0.02
LONGEST_RETRY_SECONDS = 0.25


def new_holder_id() -> str:
    """A holder id unique to this process and call site: host, process id and a random tail."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(6)}"


@dataclass
class Lease:
    key: str
    holder: str
    lost: anyio.Event = field(default_factory=anyio.Event)


@asynccontextmanager
async def hold_lease(
    store: Store, key: str, holder: str, *, wait: float, ttl: float = DEFAULT_TTL_SECONDS
) -> AsyncIterator[Lease]:
    """Hold the lease `key` while the body runs; LeaseBusyError if it stays taken for `wait` seconds."""
    deadline = anyio.current_time() + wait
    pause = FIRST_RETRY_SECONDS
    while not await store.acquire_lease(key, holder, ttl):
        left = deadline - anyio.current_time()
        if left <= 0:
            raise LeaseBusyError(f"{key!r} stayed busy in another server process for {wait:g} s; try again.")
        await anyio.sleep(min(pause, left))
        pause = min(pause * 2, LONGEST_RETRY_SECONDS)
    lease = Lease(key, holder)
    try:
        async with anyio.create_task_group() as renewals:
            renewals.start_soon(_keep_renewed, store, lease, ttl)
            try:
                yield lease
            finally:
                renewals.cancel_scope.cancel()
    finally:
        # A release that fails is harmless (the lease expires on its own); the work's outcome matters more.
        with anyio.CancelScope(shield=True), suppress(StoreError):
            await store.release_lease(key, holder)


async def _keep_renewed(store: Store, lease: Lease, ttl: float) -> None:
    while True:
        await anyio.sleep(ttl / 3)
        try:
            renewed = await store.renew_lease(lease.key, lease.holder, ttl)
        except StoreError:
            continue  # the store may come back before the lease runs out: try again next time
        if not renewed:
            lease.lost.set()
            return
