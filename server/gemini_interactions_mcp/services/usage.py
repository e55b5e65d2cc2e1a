"""Each principal's usage per UTC day and model: what `gemini://usage` shows and daily budgets check.

Every interaction is counted once, where it ends: a turn answered within its call by the turn itself,
anything that finished as a background job when the job finishes. Totals live in the store (one
atomic increment per interaction), so every server process sharing the store sees the same day.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta

from pydantic import BaseModel, Field

from gemini_interactions_mcp.services.jobs import JobFinished
from gemini_interactions_mcp.state import DailyUsage, Store, Usage, UsageCounts, UsageEntry

REPORT_DAYS = 30
SECONDS_PER_DAY = 86_400
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
LAST_MICROSECOND = 1e-6
DAYS_KEPT = 64
"""Days whose text `utc_day` keeps: today and the days a report spans."""
ESTIMATE_NOTE = (
    "Costs are estimates in USD from the server's price table (Gemini API paid tier, standard prices "
    "scaled by service tier), not a bill: free-tier use, the monthly free search allowance, cached-token "
    "discounts and Google's rounding are not known here. `unpriced` counts interactions without a known "
    "price (their cost is not included)."
)


def utc_day(at: float) -> str:
    """The UTC calendar day of a timestamp, as YYYY-MM-DD (days roll over at 00:00 UTC).

    A POSIX timestamp counts every day as 86,400 s, so the day is its number since the epoch: a
    division, and the text of the few days in use kept (every turn asks: 0.95 -> 0.35 µs). In the last
    microsecond of a day `datetime` decides, as it rounds a timestamp to the microsecond first."""
    days, into = divmod(at, SECONDS_PER_DAY)
    if into >= SECONDS_PER_DAY - LAST_MICROSECOND:
        return datetime.fromtimestamp(at, UTC).date().isoformat()
    return _iso_day(int(days))


@functools.lru_cache(maxsize=DAYS_KEPT)
def _iso_day(days_since_epoch: int) -> str:
    return date.fromordinal(EPOCH_ORDINAL + days_since_epoch).isoformat()


def seconds_to_next_day(at: float) -> float:
    """Seconds from `at` to the next 00:00 UTC, when daily totals start again."""
    now = datetime.fromtimestamp(at, UTC)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (midnight - now).total_seconds()


class Period(BaseModel):
    """Totals over some days: overall and per model (or agent)."""

    first_day: str
    last_day: str
    total: Usage = Field(default_factory=Usage)
    interactions: int = 0
    by_model: dict[str, Usage] = Field(default_factory=dict)


class UsageReport(BaseModel):
    """What `gemini://usage` shows one caller: today, the last 30 days, and each day's total."""

    principal: str
    as_of: str
    today: Period
    last_30_days: Period
    by_day: dict[str, Usage] = Field(default_factory=dict)
    limits: dict[str, float] = Field(default_factory=dict)
    """The caller's limits and what is left of today's budgets (filled in by whoever knows them)."""
    note: str = ESTIMATE_NOTE


def _period(rows: Iterable[DailyUsage], first_day: str, last_day: str) -> Period:
    period = Period(first_day=first_day, last_day=last_day)
    for row in rows:
        if first_day <= row.day <= last_day:
            period.total = period.total.plus(row.usage)
            period.interactions += row.interactions
            period.by_model[row.model] = period.by_model.get(row.model, Usage()).plus(row.usage)
    return period


class UsageLedger:
    """Records usage as interactions end and reads it back per principal (never anyone else's)."""

    def __init__(self, store: Store, *, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock

    def entry(self, model: str, usage: UsageCounts) -> UsageEntry | None:
        """One interaction of `model` as today's ledger counts it (None when it reported no usage), for
        a caller that records it together with something else (a turn: `advance_conversation`)."""
        return UsageEntry(day=utc_day(self._clock()), model=model, usage=usage) if usage else None

    async def record(self, owner: str, model: str, usage: UsageCounts) -> None:
        """Count one interaction of `model` for `owner` today (nothing when it reported no usage)."""
        if usage:
            await self._store.add_usage(owner, utc_day(self._clock()), model, usage)

    async def job_finished(self, event: JobFinished) -> None:
        """Count a background job's interaction when it ends (the job listener: once per job)."""
        job = event.job
        await self.record(job.owner, job.model or job.agent or job.kind, job.usage)

    async def today(self, owner: str) -> Usage:
        """The owner's totals so far today (UTC), over all models."""
        day = utc_day(self._clock())
        return _period(await self._store.daily_usage(owner, since=day), day, day).total

    async def report(self, owner: str) -> UsageReport:
        now = self._clock()
        today = utc_day(now)
        first = utc_day(now - (REPORT_DAYS - 1) * SECONDS_PER_DAY)
        rows = await self._store.daily_usage(owner, since=first)
        by_day: dict[str, Usage] = {}
        for row in rows:
            by_day[row.day] = by_day.get(row.day, Usage()).plus(row.usage)
        return UsageReport(
            principal=owner,
            as_of=datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds"),
            today=_period(rows, today, today),
            last_30_days=_period(rows, first, today),
            by_day=by_day,
        )
