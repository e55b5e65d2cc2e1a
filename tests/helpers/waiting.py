"""Waiting on conditions, never on fixed sleeps: poll a predicate until it holds or a deadline passes.

The short poll interval only bounds how soon a condition is noticed; the outcome never depends on it.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio

T = TypeVar("T")
POLL_INTERVAL = 0.01


def wait_until(check: Callable[[], T], *, timeout: float = 10.0, what: str = "condition") -> T:
    """Call `check` until it returns something truthy (returned); AssertionError after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        time.sleep(POLL_INTERVAL)


async def async_wait_until(
    check: Callable[[], Awaitable[T]], *, within: float = 10.0, what: str = "condition"
) -> T:
    """The async form of `wait_until`: awaits `check` until it returns something truthy (TimeoutError
    after `within` seconds)."""
    with anyio.fail_after(within):
        while True:
            value = await check()
            if value:
                return value
            await anyio.sleep(POLL_INTERVAL)
