"""RoundsInFlight: a round left running past its caller's deadline is stopped by the end of its job,
whether its job's watcher has begun to wait for it or not."""

from __future__ import annotations

import anyio
import pytest

from gemini_interactions_mcp.services.rounds import Round, RoundCancelled, RoundsInFlight

pytestmark = pytest.mark.anyio


class HeldRound:
    """Work that runs until it is let go, and records whether it was cancelled."""

    def __init__(self) -> None:
        self.started = anyio.Event()
        self.release = anyio.Event()
        self.cancelled = False

    async def __call__(self, running: Round[str]) -> str:
        self.started.set()
        try:
            await self.release.wait()
        except anyio.get_cancelled_exc_class():
            self.cancelled = True
            raise
        return "results"


async def handed_on(rounds: RoundsInFlight[str], work: HeldRound) -> None:
    """Run the round with no time to wait: the caller's deadline passed, the round goes on."""
    assert await rounds.run("interaction-1", work, progress=None, within=0) is None
    await work.started.wait()


@pytest.mark.parametrize("watcher_first", [False, True], ids=["before-collect", "while-collecting"])
async def test_the_end_of_its_job_stops_a_handed_on_round(watcher_first: bool) -> None:
    work = HeldRound()
    outcome: list[object] = []
    with anyio.fail_after(10):  # without the fix the watcher would wait for the held calls for ever
        await _cancel_its_job(work, outcome, watcher_first)
    assert work.cancelled, "the calls were stopped"
    if watcher_first:
        assert isinstance(outcome[0], RoundCancelled), outcome
    else:
        assert outcome == [None], "a cancelled round is not there to collect"


async def _cancel_its_job(work: HeldRound, outcome: list[object], watcher_first: bool) -> None:
    async with anyio.create_task_group() as tg:
        rounds = RoundsInFlight[str](tg)
        await handed_on(rounds, work)

        async def collect() -> None:
            try:
                outcome.append(await rounds.collect("interaction-1", progress=None))
            except RoundCancelled as exc:
                outcome.append(exc)

        if watcher_first:
            tg.start_soon(collect)
            await anyio.wait_all_tasks_blocked()
        await rounds.cancel("interaction-1")
        if not watcher_first:
            await collect()


async def test_a_collected_round_gives_its_results_once_and_is_forgotten() -> None:
    work = HeldRound()
    async with anyio.create_task_group() as tg:
        rounds = RoundsInFlight[str](tg)
        await handed_on(rounds, work)
        work.release.set()
        assert await rounds.collect("interaction-1", progress=None) == "results"
        assert await rounds.collect("interaction-1", progress=None) is None
    assert not work.cancelled
