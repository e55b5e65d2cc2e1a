"""Per-principal limits: requests per minute, background jobs at once, and a daily budget.

Each principal has its own allowance of each; all are off unless configured. A call over a limit is
refused before anything is sent to Gemini, with a message that names the limit and says when to retry.
What counts:
- requests: calls that start Gemini work (`METERED_TOOLS`), counted by GCRA (a token bucket of `burst`
  requests refilled at the per-minute rate); polls, lists and reads are free;
- running jobs: the caller's background jobs not yet finished, checked when a research or agent run
  starts, with the budget (a long answer that outlives its call still becomes a job: refusing it
  would waste paid work);
- the daily budget: today's (UTC) estimated USD or total tokens from the usage ledger; a call starts
  while the day's total is under the budget, so the call that crosses it still completes.

Refusals are announced to listeners (`on_refusal`) so operators can count them (metrics), without this
module knowing how.
"""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from gemini_interactions_mcp.services.errors import ServiceError
from gemini_interactions_mcp.services.locks import KeyedLocks
from gemini_interactions_mcp.services.usage import UsageLedger, seconds_to_next_day
from gemini_interactions_mcp.state import (
    JobKind,
    LeaseBusyError,
    RateLimiter,
    Store,
    Usage,
    hold_lease,
    new_holder_id,
)
from gemini_interactions_mcp.tool_names import ToolName

LimitName = Literal["rate", "jobs", "budget"]
METERED_TOOLS = frozenset(
    {ToolName.ASK, ToolName.START_RESEARCH, ToolName.RUN_AGENT, ToolName.GENERATE_IMAGE, ToolName.SPEAK}
)
"""The tools that start Gemini work: each call counts against the request rate and the daily budget."""
JOB_TOOLS: dict[JobKind, ToolName] = {
    "research": ToolName.START_RESEARCH,
    "agent": ToolName.RUN_AGENT,
    "model": ToolName.ASK,
}
SECONDS_PER_MINUTE = 60.0
RATE_KEY = "rate:"
JOB_SLOT_LEASE = "job-start:"
JOB_SLOT_WAIT_SECONDS = 30.0
"""How long a start waits for another start of the same caller in another server process."""


class LimitSettings(BaseModel):
    """The limits every principal gets (None: no such limit)."""

    model_config = ConfigDict(frozen=True)

    requests_per_minute: float | None = Field(None, gt=0)
    request_burst: int | None = Field(None, ge=1)
    """Requests allowed at once before the per-minute pace applies; default: one minute's worth."""
    max_running_jobs: int | None = Field(None, ge=1)
    daily_token_budget: int | None = Field(None, ge=1)
    daily_usd_budget: float | None = Field(None, gt=0)

    @property
    def burst(self) -> int:
        if self.request_burst is not None:
            return self.request_burst
        return max(1, math.floor(self.requests_per_minute or 1))


@dataclass(frozen=True)
class Refusal:
    """One refused call, as metrics see it: which limit and which tool (never who)."""

    limit: LimitName
    tool: str
    retry_after: float | None
    """Seconds until a retry can succeed; None when it depends on something else (a job finishing)."""


RefusalListener = Callable[[Refusal], None]


class LimitExceeded(ServiceError):
    """A call refused by a limit; the message says which and when to retry."""

    def __init__(self, message: str, refusal: Refusal) -> None:
        super().__init__(message)
        self.refusal = refusal


def in_words(seconds: float) -> str:
    """A wait as a person would say it: "7 s", "12 min", "5 h 3 min"."""
    whole = max(1, math.ceil(seconds))
    if whole < 60:
        return f"{whole} s"
    minutes = math.ceil(whole / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"


class Limits:
    """Checks calls against the configured limits, per principal."""

    def __init__(
        self,
        settings: LimitSettings,
        *,
        ledger: UsageLedger,
        rate_limiter: RateLimiter,
        store: Store,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self._ledger = ledger
        self._rate = rate_limiter
        self._store = store
        self._clock = clock
        self._job_locks = KeyedLocks()
        self._holder = new_holder_id()
        self._listeners: list[RefusalListener] = []

    @staticmethod
    def meters(tool: object) -> bool:
        """Whether calls of this tool count against the limits (`METERED_TOOLS`)."""
        return tool in METERED_TOOLS

    @property
    def checks_calls(self) -> bool:
        """Whether `admit` checks anything: a rate or a daily budget is set (without one, callers may
        leave it out)."""
        settings = self.settings
        return (
            settings.requests_per_minute is not None
            or settings.daily_token_budget is not None
            or settings.daily_usd_budget is not None
        )

    def on_refusal(self, listener: RefusalListener) -> None:
        """Call `listener` (synchronously, keep it cheap) for every refused call from now on."""
        self._listeners.append(listener)

    def _refuse(self, message: str, limit: LimitName, tool: str, retry_after: float | None) -> LimitExceeded:
        refusal = Refusal(limit=limit, tool=tool, retry_after=retry_after)
        for listener in self._listeners:
            listener(refusal)
        return LimitExceeded(message, refusal)

    def describe(self, today: Usage) -> dict[str, float]:
        """The limits in force (unset ones left out), with what is left of today's budgets."""
        described: dict[str, float] = self.settings.model_dump(exclude_none=True)
        if self.settings.requests_per_minute is not None:
            described["request_burst"] = self.settings.burst
        if self.settings.daily_usd_budget is not None:
            described["usd_left_today"] = round(max(0.0, self.settings.daily_usd_budget - today.cost_usd), 6)
        if self.settings.daily_token_budget is not None:
            described["tokens_left_today"] = max(0, self.settings.daily_token_budget - today.total_tokens)
        return described

    async def admit(self, owner: str, tool: str) -> None:
        """Let a call that starts Gemini work through, or raise LimitExceeded (budget first: a refused
        call must not use up a request of the rate)."""
        await self._check_budget(owner, tool)
        await self._check_rate(owner, tool)

    async def _check_budget(self, owner: str, tool: str) -> None:
        tokens, usd = self.settings.daily_token_budget, self.settings.daily_usd_budget
        if tokens is None and usd is None:
            return
        used = await self._ledger.today(owner)
        resets = seconds_to_next_day(self._clock())
        when = f"It resets at 00:00 UTC, in {in_words(resets)}; polls, lists and reads still work."
        if usd is not None and used.cost_usd >= usd:
            raise self._refuse(
                f"Daily budget reached: about ${used.cost_usd:.2f} of your ${usd:.2f} (estimated, UTC day) "
                f"is used. {when}",
                "budget",
                tool,
                resets,
            )
        if tokens is not None and used.total_tokens >= tokens:
            raise self._refuse(
                f"Daily token budget reached: {used.total_tokens:,} of your {tokens:,} tokens (UTC day) are "
                f"used. {when}",
                "budget",
                tool,
                resets,
            )

    async def _check_rate(self, owner: str, tool: str) -> None:
        per_minute = self.settings.requests_per_minute
        if per_minute is None:
            return
        wait = await self._rate.take(
            RATE_KEY + owner, interval=SECONDS_PER_MINUTE / per_minute, burst=self.settings.burst
        )
        if wait > 0:
            raise self._refuse(
                f"Rate limit reached: at most {per_minute:g} requests per minute that start Gemini work "
                f"(up to {self.settings.burst} at once). Retry in {in_words(wait)}.",
                "rate",
                tool,
                wait,
            )

    @asynccontextmanager
    async def job_slot(self, owner: str, kind: JobKind) -> AsyncIterator[None]:
        """Hold a place for one more background job of `owner` while it is started, or raise
        LimitExceeded. Starts of one owner are serialised (a lock in this process, a lease in the store
        across processes), so two at once cannot both take the last place. The daily budget is checked
        here too: a research plan approved during a poll starts a run without a call of its own."""
        await self._check_budget(owner, JOB_TOOLS[kind])
        limit = self.settings.max_running_jobs
        if limit is None:
            yield
            return
        async with self._job_locks.hold(owner), self._across_processes(owner):
            running = sum(1 for job in await self._store.unfinished_jobs() if job.owner == owner)
            if running >= limit:
                raise self._refuse(
                    f"Too many background jobs: {running} of your {limit} allowed are still running. "
                    f"Wait for one to finish ({ToolName.POLL}) or stop one ({ToolName.CANCEL}), then retry.",
                    "jobs",
                    JOB_TOOLS[kind],
                    None,
                )
            yield

    @asynccontextmanager
    async def _across_processes(self, owner: str) -> AsyncIterator[None]:
        try:
            async with hold_lease(
                self._store, JOB_SLOT_LEASE + owner, self._holder, wait=JOB_SLOT_WAIT_SECONDS
            ):
                yield
        except LeaseBusyError:
            raise ServiceError(
                "Another background job of yours is being started by another server process; try again."
            ) from None
