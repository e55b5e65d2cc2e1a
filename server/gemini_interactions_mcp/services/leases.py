"""Store leases as services hold them: one turn per conversation, one watcher per job, across processes.

Work that must stop when its lease is lost runs under a task group that cancels it then, and the group
wraps whatever the work raises in an exception group; `leased` unwraps it, so the work's own error (a
ServiceError the model should read) reaches its caller as itself. Other work (a turn) holds the lease
as `hold_lease` gives it, with no group and no wrapper around it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager

import anyio

from gemini_interactions_mcp.state import Lease, Store, hold_lease, new_holder_id
from gemini_interactions_mcp.state.leases import Acquire

CONVERSATION_PREFIX = "conversation:"
JOB_WATCHER_PREFIX = "job:"
JOB_WATCHER_TTL_SECONDS = 10.0
"""A watcher's lease lives this long unrenewed: after a crash, another process (or the restarted one)
takes the job over within this time. (Renewed every third of it while the watcher runs.) The default of
`--job-lease-seconds`."""


@contextmanager
def _unwrapped_errors() -> Iterator[None]:
    """Re-raise the one real error of a task group as itself, so callers can catch it by type."""
    try:
        yield
    except BaseExceptionGroup as group:
        real = [e for e in group.exceptions if not isinstance(e, anyio.get_cancelled_exc_class())]
        if len(real) == 1:
            raise real[0] from None
        raise


def leased(
    store: Store,
    key: str,
    *,
    wait: float,
    ttl: float | None = None,
    stop_when_lost: bool = False,
    acquire: Acquire | None = None,
) -> AbstractAsyncContextManager[Lease]:
    """Hold the lease `key` for a new holder while the body runs (LeaseBusyError after `wait` s); its
    time to live is the store's default unless `ttl` is given; `acquire` as for `hold_lease`.

    With `stop_when_lost`, the body is cancelled the moment the lease is lost (`lease.lost` is then
    set when the block ends): work that must run in one process only stops rather than run twice.
    """
    lease_options = {} if ttl is None else {"ttl": ttl}
    held = hold_lease(store, key, new_holder_id(), wait=wait, acquire=acquire, **lease_options)
    return _stopped_when_lost(held) if stop_when_lost else held


@asynccontextmanager
async def _stopped_when_lost(held: hold_lease) -> AsyncIterator[Lease]:
    with _unwrapped_errors():
        async with held as lease, anyio.create_task_group() as guard:
            guard.start_soon(_cancel_when_lost, lease, guard.cancel_scope)
            yield lease
            guard.cancel_scope.cancel()


async def _cancel_when_lost(lease: Lease, scope: anyio.CancelScope) -> None:
    await lease.lost.wait()
    scope.cancel()
