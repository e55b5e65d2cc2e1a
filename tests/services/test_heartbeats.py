"""Heartbeats: one task keeps every silent turn's progress going, and a failing note stops nothing."""

from __future__ import annotations

import anyio
import pytest

from gemini_interactions_mcp.services.heartbeats import Heartbeats

pytestmark = pytest.mark.anyio


async def test_a_silent_watch_gets_heartbeats_and_a_speaking_one_does_not() -> None:
    heartbeats = Heartbeats(interval=0.05)
    silent: list[str] = []
    chatty: list[str] = []
    beating = anyio.Event()

    async def to_silent(message: str) -> None:
        silent.append(message)
        if len(silent) == 3:
            beating.set()

    async def to_chatty(message: str) -> None:
        chatty.append(message)

    async with anyio.create_task_group() as tg:
        tg.start_soon(heartbeats.run)
        with heartbeats.watch(to_silent, "gemini-3.5-flash"), heartbeats.watch(to_chatty, "other") as talker:
            with anyio.fail_after(5):
                while not beating.is_set():
                    await talker.note("Answering…")  # notes of its own reset its heartbeat
                    await anyio.sleep(0.01)
        tg.cancel_scope.cancel()
    assert all(m.startswith("Waiting for gemini-3.5-flash… ") for m in silent)
    assert set(chatty) == {"Answering…"}


async def test_a_note_that_fails_does_not_stop_the_others() -> None:
    """The call a heartbeat belongs to may end (its client gone) while the note is on its way."""
    heartbeats = Heartbeats(interval=0.02)
    received = anyio.Event()

    async def broken(_: str) -> None:
        raise anyio.BrokenResourceError

    async def working(_: str) -> None:
        received.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(heartbeats.run)
        with heartbeats.watch(broken, "a"), heartbeats.watch(working, "b"):
            with anyio.fail_after(5):
                await received.wait()
        tg.cancel_scope.cancel()


async def test_the_runner_rests_between_turns_and_wakes_for_the_next() -> None:
    """Once no turn is watched the runner waits; a new watch wakes it, and an ended one hears no more."""
    heartbeats = Heartbeats(interval=0.02)
    notes: list[str] = []
    heard = anyio.Event()

    async def note(message: str) -> None:
        notes.append(message)
        heard.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(heartbeats.run)
        for name in ("a", "b"):
            heard = anyio.Event()
            with heartbeats.watch(note, name), anyio.fail_after(5):
                await heard.wait()
        tg.cancel_scope.cancel()
    firsts = [n.split("…")[0] for n in notes]
    assert firsts == sorted(firsts) and firsts[-1] == "Waiting for b"
