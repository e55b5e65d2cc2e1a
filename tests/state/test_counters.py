"""The in-process GCRA rate limiter: a burst at once, then one request per interval."""

from __future__ import annotations

import pytest

from gemini_interactions_mcp.state import MemoryRateLimiter

pytestmark = pytest.mark.anyio


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_burst_then_one_per_interval() -> None:
    clock = Clock()
    limiter = MemoryRateLimiter(clock)
    allowed = [await limiter.take("k", interval=6.0, burst=3) for _ in range(3)]
    assert allowed == [0.0, 0.0, 0.0]
    assert await limiter.take("k", interval=6.0, burst=3) == pytest.approx(6.0)
    clock.now += 2.5
    assert await limiter.take("k", interval=6.0, burst=3) == pytest.approx(3.5), "a refusal is not counted"
    clock.now += 3.5
    assert await limiter.take("k", interval=6.0, burst=3) == 0.0
    assert await limiter.take("k", interval=6.0, burst=3) == pytest.approx(6.0)


async def test_keys_are_independent_and_idle_keys_refill() -> None:
    clock = Clock()
    limiter = MemoryRateLimiter(clock)
    assert await limiter.take("alice", interval=60.0, burst=1) == 0.0
    assert await limiter.take("alice", interval=60.0, burst=1) == pytest.approx(60.0)
    assert await limiter.take("bob", interval=60.0, burst=1) == 0.0
    clock.now += 3600
    assert [await limiter.take("alice", interval=60.0, burst=2) for _ in range(3)][:2] == [0.0, 0.0]
