"""Rate-limit counters: the generic cell rate algorithm (GCRA), keyed by whatever the caller limits.

GCRA keeps one number per key, the theoretical arrival time (TAT) of the next request: a request is
allowed while it comes no earlier than `burst` intervals before its TAT, and moves the TAT one
interval on. That is a token bucket of `burst` tokens refilled one per `interval`, in one value
that is read and written atomically, which is why it fits in a Redis Lua script (a Redis-backed store
supplies its own `RateLimiter` so every replica shares the counters). This one lives in the process.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable

PRUNE_EVERY = 1024
"""Drop keys whose TAT has passed (they hold no debt) every this many calls, so idle keys do not pile up."""


class RateLimiter(ABC):
    """Counts requests per key against a rate; shared by every process that shares the limiter."""

    @abstractmethod
    async def take(self, key: str, *, interval: float, burst: int) -> float:
        """Count one request on `key` if the rate allows it now and return 0.0; otherwise count nothing
        and return the seconds until one would be allowed. One request per `interval` seconds on
        average, up to `burst` at once."""


class MemoryRateLimiter(RateLimiter):
    """GCRA in a dictionary: exact within one process, with no I/O (each call is atomic on the loop)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._tat: dict[str, float] = {}
        self._calls = 0

    async def take(self, key: str, *, interval: float, burst: int) -> float:
        now = self._clock()
        self._calls += 1
        if self._calls % PRUNE_EVERY == 0:
            self._tat = {k: tat for k, tat in self._tat.items() if tat > now}
        tat = max(self._tat.get(key, now), now)
        following = tat + interval
        wait = following - now - interval * burst
        if wait > 0:
            return wait
        self._tat[key] = following
        return 0.0
