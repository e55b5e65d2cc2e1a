"""Per-principal limits and the usage ledger, with a fake clock: what is refused, when, and what it says."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import anyio
import pytest

from gemini_interactions_mcp.services.limits import LimitExceeded, Limits, LimitSettings, Refusal, in_words
from gemini_interactions_mcp.services.usage import UsageLedger, seconds_to_next_day, utc_day
from gemini_interactions_mcp.state import JobRecord, MemoryRateLimiter, MemoryStore, SQLiteStore, Store

pytestmark = pytest.mark.anyio

NOON = datetime(2026, 12, 5, 12, 0, tzinfo=UTC).timestamp()


class Clock:
    def __init__(self, now: float = NOON) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def limits_with(store: Store, clock: Clock, **settings: float) -> tuple[Limits, list[Refusal]]:
    refused: list[Refusal] = []
    limits = Limits(
        LimitSettings.model_validate(settings),
        ledger=UsageLedger(store, clock=clock),
        rate_limiter=MemoryRateLimiter(clock),
        store=store,
        clock=clock,
    )
    limits.on_refusal(refused.append)
    return limits, refused


async def test_rate_limit_refuses_past_the_burst_and_says_when_to_retry() -> None:
    clock = Clock()
    limits, refused = limits_with(MemoryStore(), clock, requests_per_minute=6)
    for _ in range(6):  # the default burst is one minute's worth
        await limits.admit("alice", "ask_gemini")
    with pytest.raises(LimitExceeded) as caught:
        await limits.admit("alice", "ask_gemini")
    assert "Rate limit reached: at most 6 requests per minute" in str(caught.value)
    assert "Retry in 10 s" in str(caught.value)
    assert refused == [Refusal(limit="rate", tool="ask_gemini", retry_after=pytest.approx(10.0))]
    await limits.admit("bob", "ask_gemini")  # per principal
    clock.now += 10
    await limits.admit("alice", "ask_gemini")


async def test_a_small_burst_spaces_requests_out() -> None:
    limits, _ = limits_with(MemoryStore(), Clock(), requests_per_minute=60, request_burst=1)
    await limits.admit("alice", "speak")
    with pytest.raises(LimitExceeded, match="up to 1 at once"):
        await limits.admit("alice", "speak")


async def test_usd_budget_refuses_once_today_is_spent_until_midnight_utc() -> None:
    store, clock = MemoryStore(), Clock()
    limits, refused = limits_with(store, clock, daily_usd_budget=1.0)
    ledger = UsageLedger(store, clock=clock)
    await ledger.record("alice", "gemini-3.5-flash", {"total_tokens": 100, "cost_usd": 0.6})
    await limits.admit("alice", "ask_gemini")  # under the budget: the call that crosses it still runs
    await ledger.record("alice", "deep-research-preview-04-2026", {"cost_usd": 3.0})
    with pytest.raises(LimitExceeded) as caught:
        await limits.admit("alice", "start_deep_research")
    message = str(caught.value)
    assert "Daily budget reached: about $3.60 of your $1.00" in message
    assert "resets at 00:00 UTC, in 12 h 0 min" in message
    assert refused[0].limit == "budget" and refused[0].retry_after == pytest.approx(12 * 3600)
    await limits.admit("bob", "ask_gemini")
    clock.now += 12 * 3600  # a new UTC day
    await limits.admit("alice", "ask_gemini")


async def test_token_budget_counts_total_tokens() -> None:
    store, clock = MemoryStore(), Clock()
    limits, _ = limits_with(store, clock, daily_token_budget=1000)
    await UsageLedger(store, clock=clock).record("alice", "m", {"total_tokens": 1000})
    with pytest.raises(LimitExceeded, match="1,000 of your 1,000 tokens"):
        await limits.admit("alice", "ask_gemini")


async def test_a_budget_refusal_does_not_use_up_the_rate() -> None:
    store, clock = MemoryStore(), Clock()
    limits, refused = limits_with(store, clock, daily_token_budget=10, requests_per_minute=1)
    await UsageLedger(store, clock=clock).record("alice", "m", {"total_tokens": 10})
    for _ in range(3):
        with pytest.raises(LimitExceeded):
            await limits.admit("alice", "ask_gemini")
    assert {r.limit for r in refused} == {"budget"}


def job(owner: str, interaction_id: str, *, finished: float | None = None) -> JobRecord:
    now = time.time()
    return JobRecord(
        interaction_id=interaction_id,
        owner=owner,
        kind="research",
        created=now,
        updated=now,
        finished=finished,
    )


async def test_running_jobs_limit_counts_only_the_callers_unfinished_jobs() -> None:
    store = MemoryStore()
    limits, refused = limits_with(store, Clock(), max_running_jobs=2)
    await store.create_job(job("alice", "a1"))
    await store.create_job(job("alice", "a2", finished=time.time()))
    await store.create_job(job("bob", "b1"))
    await store.create_job(job("bob", "b2"))
    async with limits.job_slot("alice", "research"):
        await store.create_job(job("alice", "a3"))
    with pytest.raises(LimitExceeded) as caught:
        async with limits.job_slot("alice", "agent"):
            pass
    assert "2 of your 2 allowed are still running" in str(caught.value)
    assert "poll_interaction" in str(caught.value) and "cancel_interaction" in str(caught.value)
    assert refused == [Refusal(limit="jobs", tool="run_agent", retry_after=None)]


async def test_a_job_start_without_a_call_of_its_own_still_meets_the_budget() -> None:
    """A research plan approved during a poll starts a run: the budget is checked at the job's start."""
    store, clock = MemoryStore(), Clock()
    limits, refused = limits_with(store, clock, daily_usd_budget=2.0)
    await UsageLedger(store, clock=clock).record("alice", "deep-research-preview-04-2026", {"cost_usd": 3.0})
    with pytest.raises(LimitExceeded, match="Daily budget reached"):
        async with limits.job_slot("alice", "research"):
            pass
    assert refused == [Refusal(limit="budget", tool="start_deep_research", retry_after=12 * 3600)]


async def race_for_one_place(starters: Sequence[tuple[Limits, Store]]) -> list[str]:
    """Start a job through each (limits, store) at once, each holding its place while its create takes a
    while; what became of each start, sorted."""
    outcomes: list[str] = []

    async def start(limits: Limits, store: Store, name: str) -> None:
        try:
            async with limits.job_slot("alice", "research"):
                await anyio.sleep(0.05)  # the upstream create takes a while
                await store.create_job(job("alice", name))
                outcomes.append("started")
        except LimitExceeded:
            outcomes.append("refused")

    async with anyio.create_task_group() as tg:
        for i, (limits, store) in enumerate(starters):
            tg.start_soon(start, limits, store, f"j{i}")
    return sorted(outcomes)


async def test_two_starts_at_once_cannot_both_take_the_last_place() -> None:
    store = MemoryStore()
    limits, _ = limits_with(store, Clock(), max_running_jobs=1)
    assert await race_for_one_place([(limits, store), (limits, store)]) == ["refused", "started"]


async def test_no_limits_configured_admits_everything_without_reading_the_store() -> None:
    class Untouchable(MemoryStore):
        async def daily_usage(self, owner: str, *, since: str) -> list:  # type: ignore[type-arg]
            raise AssertionError("no budget: today's usage is never read")

    limits, _ = limits_with(Untouchable(), Clock())
    for _ in range(100):
        await limits.admit("alice", "ask_gemini")
    async with limits.job_slot("alice", "research"):
        pass


@pytest.mark.parametrize(
    ("settings", "checked"),
    [
        ({}, False),
        ({"max_running_jobs": 2}, False),  # checked where a job starts, not by admit
        ({"requests_per_minute": 10}, True),
        ({"daily_token_budget": 1000}, True),
        ({"daily_usd_budget": 1.0}, True),
    ],
)
def test_admit_checks_calls_only_while_a_rate_or_a_daily_budget_is_set(
    settings: dict[str, float], checked: bool
) -> None:
    limits, _ = limits_with(MemoryStore(), Clock(), **settings)
    assert limits.checks_calls is checked


async def test_ledger_report_covers_today_and_thirty_days_by_model() -> None:
    store, clock = MemoryStore(), Clock()
    ledger = UsageLedger(store, clock=clock)
    clock.now = NOON - 40 * 86_400
    await ledger.record("alice", "gemini-3.5-flash", {"total_tokens": 999, "cost_usd": 9.0})  # too old
    clock.now = NOON - 29 * 86_400
    await ledger.record("alice", "gemini-3.5-flash", {"total_tokens": 10, "cost_usd": 0.1})
    clock.now = NOON
    await ledger.record("alice", "gemini-3.5-flash", {"total_tokens": 20, "cost_usd": 0.2})
    await ledger.record("alice", "deep-research-preview-04-2026", {"total_tokens": 5, "cost_usd": 3.0})
    await ledger.record("alice", "gemini-3.5-flash", {})  # nothing reported: nothing counted
    report = await ledger.report("alice")
    assert report.today.first_day == "2026-12-05" and report.today.interactions == 2
    assert report.today.total.cost_usd == pytest.approx(3.2)
    assert set(report.today.by_model) == {"gemini-3.5-flash", "deep-research-preview-04-2026"}
    assert report.last_30_days.first_day == "2026-11-06"
    assert report.last_30_days.total.total_tokens == 35
    assert report.last_30_days.by_model["gemini-3.5-flash"].total_tokens == 30
    assert list(report.by_day) == ["2026-11-06", "2026-12-05"]
    assert (await ledger.report("bob")).last_30_days.interactions == 0


@pytest.mark.parametrize("day", [-3, 0, 1, 20_457, 47_482])
def test_the_day_of_a_timestamp_is_datetimes_also_around_midnight(day: int) -> None:
    """utc_day counts days instead of asking datetime, which rounds to the microsecond first: the two
    agree through the last microsecond before midnight and the first after it."""
    midnight = day * 86_400
    for offset in (-1.0, -1e-6, -6e-7, -5e-7, -4e-7, -1e-9, 0.0, 1e-9, 5e-7, 0.5, 43_200.0):
        at = midnight + offset
        assert utc_day(at) == datetime.fromtimestamp(at, UTC).date().isoformat(), at


def test_days_roll_over_at_midnight_utc_and_waits_read_as_words() -> None:
    assert utc_day(NOON) == "2026-12-05"
    assert seconds_to_next_day(NOON) == 12 * 3600
    assert [in_words(s) for s in (0.2, 59, 61, 3599, 3600, 5 * 3600 + 125)] == [
        "1 s",
        "59 s",
        "2 min",
        "1 h 0 min",
        "1 h 0 min",
        "5 h 3 min",
    ]


async def test_starts_in_two_processes_on_one_state_file_cannot_both_take_the_last_place(
    tmp_path: Path,
) -> None:
    """Each process has its own lock; the lease in the shared store is what serialises their starts."""
    stores = [SQLiteStore(tmp_path / "state.sqlite3"), SQLiteStore(tmp_path / "state.sqlite3")]
    processes = [(limits_with(store, Clock(), max_running_jobs=1)[0], store) for store in stores]
    outcomes = await race_for_one_place(processes)
    for store in stores:
        await store.close()
    assert outcomes == ["refused", "started"]
