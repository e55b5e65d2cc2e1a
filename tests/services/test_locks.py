"""Per-key locks are kept only while in use, so the table does not grow with every conversation."""

from __future__ import annotations

import anyio
import pytest

from gemini_interactions_mcp.services.locks import KeyedLocks

pytestmark = pytest.mark.anyio


async def test_holders_of_one_key_take_turns_and_the_entry_goes_with_the_last() -> None:
    locks = KeyedLocks()
    order: list[str] = []
    inside = anyio.Event()

    async def hold(name: str, wait: anyio.Event | None) -> None:
        async with locks.hold("conv"):
            order.append(f"{name} in")
            inside.set()
            if wait is not None:
                await wait.wait()
            order.append(f"{name} out")

    release = anyio.Event()
    async with anyio.create_task_group() as tg:
        tg.start_soon(hold, "a", release)
        await inside.wait()
        tg.start_soon(hold, "b", None)
        await anyio.wait_all_tasks_blocked()
        assert len(locks) == 1 and order == ["a in"]
        release.set()
    assert order == ["a in", "a out", "b in", "b out"]
    assert len(locks) == 0


async def test_many_keys_leave_nothing_behind() -> None:
    locks = KeyedLocks()
    for i in range(1000):
        async with locks.hold(f"conv_{i}"):
            pass
    assert len(locks) == 0


async def test_an_error_inside_releases_the_entry() -> None:
    locks = KeyedLocks()
    with pytest.raises(RuntimeError):
        async with locks.hold("conv"):
            raise RuntimeError("turn failed")
    assert len(locks) == 0


async def test_a_waiter_cancelled_before_its_turn_leaves_nothing_behind() -> None:
    locks = KeyedLocks()
    entered = anyio.Event()
    async with locks.hold("conv"):
        async with anyio.create_task_group() as tg:

            async def waiter() -> None:
                entered.set()
                async with locks.hold("conv"):
                    raise AssertionError("never its turn: cancelled while waiting")

            tg.start_soon(waiter)
            await entered.wait()
            await anyio.wait_all_tasks_blocked()
            tg.cancel_scope.cancel()
        assert len(locks) == 1
    assert len(locks) == 0
