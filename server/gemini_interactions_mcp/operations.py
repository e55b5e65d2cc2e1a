"""The running app as an operator sees it: is it ready, is it draining, how much is it following.

The HTTP transport makes one `Operations` and hands it to `build_server`; the app's lifespan binds what
it built (the store, the job service, the things to stop on a drain) and unbinds at shutdown. Nothing
here imports the HTTP or metrics stacks, so the stdio path pays nothing for it.

Draining (on SIGTERM) hands running work back instead of dropping it: every poll returns now with
"still running, poll again", every answer still streaming passes its soft deadline now and returns
its interaction_id (the job keeps running upstream), the job watchers release their leases so another
replica takes the jobs over at its next sweep (services/jobs.py), and
2026-07-28 listen streams end with their closing result. Readiness fails from the first moment, so a
load balancer stops sending new calls.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any

import anyio

from gemini_interactions_mcp.services.jobs import NO_JOBS, JobCounts
from gemini_interactions_mcp.state import Store

READY_PROBE_SECONDS = 2.0
PROBE_OWNER, PROBE_ID = "", "readiness-probe"  # no job has these: the read only proves the store answers


class Operations:
    def __init__(self) -> None:
        self.draining = False
        self.client_options: dict[str, Any] = {}
        """Extra keywords for the Gemini client (the metrics hooks)."""
        self._store: Store | None = None
        self._jobs: Callable[[], JobCounts] = lambda: NO_JOBS
        self._on_drain: list[Callable[[], None]] = []
        self._calls_open = 0
        self._all_answered: anyio.Event | None = None
        self._call = _OpenCall(self)

    def bind(
        self, store: Store, *, jobs: Callable[[], JobCounts], on_drain: list[Callable[[], None]]
    ) -> None:
        self._store = store
        self._jobs = jobs
        self._on_drain = on_drain
        if self.draining:  # a drain that began while the app was starting
            self._stop_waiting()

    def unbind(self) -> None:
        self._store = None
        self._jobs = lambda: NO_JOBS
        self._on_drain = []

    def jobs(self) -> JobCounts:
        """This process's share of the background jobs right now."""
        return self._jobs()

    async def not_ready(self) -> str | None:
        """Why this process should get no new calls (None: it may): draining, starting, or no store."""
        if self.draining:
            return "draining"
        store = self._store
        if store is None:
            return "starting"
        try:
            with anyio.fail_after(READY_PROBE_SECONDS):
                await store.get_job(PROBE_OWNER, PROBE_ID)
        except TimeoutError:
            return "state store too slow"
        except Exception as exc:  # any failure means the same to a load balancer: not here
            return f"state store unavailable ({type(exc).__name__})"
        return None

    def drain(self) -> None:
        """Begin draining (idempotent); see the module docstring."""
        if not self.draining:
            self.draining = True
            self._stop_waiting()

    def call(self) -> AbstractContextManager[None]:
        """A call to the MCP endpoint, from its request until its answer is written."""
        return self._call

    def _opened(self) -> None:
        self._calls_open += 1

    def _answered(self) -> None:
        self._calls_open -= 1
        if not self._calls_open and self._all_answered is not None:
            self._all_answered.set()

    def calls_open(self) -> int:
        """Calls to the MCP endpoint not yet answered."""
        return self._calls_open

    async def calls_answered(self) -> None:
        """Return once no call to the MCP endpoint is open (a drain waits for this before it ends the
        clients' event streams)."""
        while self._calls_open:
            self._all_answered = anyio.Event()
            await self._all_answered.wait()

    def _stop_waiting(self) -> None:
        for stop in self._on_drain:
            stop()


class _OpenCall(AbstractContextManager[None]):
    """`Operations.call`: one per Operations, as it holds nothing of a call (a generator-based context
    manager cost a generator and its frame per call)."""

    __slots__ = ("_operations",)

    def __init__(self, operations: Operations) -> None:
        self._operations = operations

    def __enter__(self) -> None:
        self._operations._opened()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._operations._answered()
