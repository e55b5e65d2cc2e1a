"""Prometheus metrics of this process, served at /metrics over HTTP.

One registry for the process (the metrics are per process; replicas are told apart by the scraper's
target labels). Labels are tools, outcomes, statuses and limit names: never a principal, a session, a
job or anything a caller typed, so the series stay few and nobody's activity shows.

Where each number comes from:
- tool calls by tool and outcome, with latency: `ToolCallMetrics`, an MCP middleware (both eras);
- limit refusals: the limits service's refusal listener (`count_refusal`);
- upstream requests by status, and retries: the Gemini client's `observer` and `sleep` hooks (it
  sleeps only before a retry);
- open streams and HTTP requests: the HTTP transport (transport/observability.py);
- background jobs watched here, unfinished in the store, and taken over from a watcher that was gone:
  the job service's counts, read at scrape time (`JobMetrics`).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from typing import Any

import anyio
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import MCPServer
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from gemini_interactions_mcp import __version__
from gemini_interactions_mcp.services.jobs import NO_JOBS, JobCounts
from gemini_interactions_mcp.services.limits import Refusal

REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)

BUILD = Info("gemini_mcp_build", "The running version.", registry=REGISTRY)
BUILD.info({"version": __version__})
TOOL_CALLS = Counter(
    "gemini_mcp_tool_calls", "Tool calls by tool and outcome.", ["tool", "outcome"], registry=REGISTRY
)
TOOL_SECONDS = Histogram(
    "gemini_mcp_tool_duration_seconds",
    "Tool call latency.",
    ["tool"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
LIMIT_REFUSALS = Counter(
    "gemini_mcp_limit_refusals", "Calls refused by a limit.", ["limit"], registry=REGISTRY
)
UPSTREAM_REQUESTS = Counter(
    "gemini_mcp_upstream_requests",
    "Requests to the Gemini API by HTTP status (or failure).",
    ["status"],
    registry=REGISTRY,
)
UPSTREAM_RETRIES = Counter("gemini_mcp_upstream_retries", "Gemini API requests retried.", registry=REGISTRY)
HTTP_REQUESTS = Counter(
    "gemini_mcp_http_requests",
    "HTTP requests served, by MCP method and status.",
    ["method", "status"],
    registry=REGISTRY,
)
SERIES_KEPT = 256
"""Series of one labelled metric whose lookup is kept (tools by outcome, MCP methods by status: a few
dozen each): `labels` validates and locks on every lookup, and every call looks up three."""
OPEN_STREAMS = Gauge("gemini_mcp_open_streams", "Event streams open to clients.", registry=REGISTRY)


class JobMetrics(Collector):
    """The job service's counts, read at every scrape from the latest app bound (`watch_jobs`)."""

    def __init__(self) -> None:
        self.counts: Callable[[], JobCounts] = lambda: NO_JOBS
        self.calls_open: Callable[[], int] = lambda: 0

    def collect(self) -> Iterator[Metric]:
        counts = self.counts()
        yield GaugeMetricFamily(
            "gemini_mcp_jobs_watched", "Background jobs this process is following.", value=counts.watched
        )
        yield GaugeMetricFamily(
            "gemini_mcp_jobs_unfinished",
            "Unfinished background jobs in the shared state, all replicas together, at this process's "
            "last sweep (the same on every replica: aggregate with max).",
            value=counts.unfinished,
        )
        yield CounterMetricFamily(
            "gemini_mcp_job_takeovers",
            "Jobs this process took over from a watcher that was gone (a replica that died or drained, "
            "or this process before a restart).",
            value=counts.takeovers,
        )
        yield GaugeMetricFamily(
            "gemini_mcp_calls_open",
            "Calls to the MCP endpoint not yet answered (a drain waits for these before it ends the "
            "clients' event streams).",
            value=self.calls_open(),
        )


JOBS = JobMetrics()
REGISTRY.register(JOBS)

UNKNOWN_TOOL = "_other"
TOOL_LIST_REFRESH_SECONDS = 60.0


@functools.lru_cache(maxsize=SERIES_KEPT)
def http_requests(method: str, status: int) -> Counter:
    """The HTTP_REQUESTS series of this method and status."""
    return HTTP_REQUESTS.labels(method, status)


@functools.lru_cache(maxsize=SERIES_KEPT)
def tool_calls(tool: str, outcome: str) -> Counter:
    """The TOOL_CALLS series of this tool and outcome."""
    return TOOL_CALLS.labels(tool, outcome)


@functools.lru_cache(maxsize=SERIES_KEPT)
def tool_seconds(tool: str) -> Histogram:
    """The TOOL_SECONDS series of this tool."""
    return TOOL_SECONDS.labels(tool)


def latest() -> bytes:
    """The Prometheus text exposition of every metric."""
    return generate_latest(REGISTRY)


def count_upstream(outcome: str) -> None:
    """The Gemini client's observer: one request attempt ended with this status (or failure)."""
    UPSTREAM_REQUESTS.labels(outcome).inc()


async def sleep_before_retry(seconds: float) -> None:
    """The Gemini client's sleep, which it calls only before retrying a request."""
    UPSTREAM_RETRIES.inc()
    await anyio.sleep(seconds)


def count_refusal(refusal: Refusal) -> None:
    """The limits service's refusal listener."""
    LIMIT_REFUSALS.labels(refusal.limit).inc()


def watch(counts: Callable[[], JobCounts], calls_open: Callable[[], int]) -> None:
    """Read the job and open-call metrics from these at every scrape (the latest app wins)."""
    JOBS.counts = counts
    JOBS.calls_open = calls_open


def client_options() -> dict[str, Any]:
    """The Gemini client's hooks that feed the upstream metrics."""
    return {"observer": count_upstream, "sleep": sleep_before_retry}


class ToolCallMetrics:
    """MCP middleware: every `tools/call`, by tool (names the server has; others are `_other`, so a
    caller cannot mint label values) and outcome, with its latency."""

    def __init__(self, server: MCPServer[Any]) -> None:
        self._server = server
        self._names: set[str] = set()
        self._listed_at = -TOOL_LIST_REFRESH_SECONDS

    async def _label(self, name: str) -> str:
        now = time.monotonic()
        if now - self._listed_at >= TOOL_LIST_REFRESH_SECONDS:
            self._names = {tool.name for tool in await self._server.list_tools()}
            self._listed_at = now
        return name if name in self._names else UNKNOWN_TOOL

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method != "tools/call":
            return await call_next(ctx)
        name = str((ctx.params or {}).get("name", ""))
        tool = name if name in self._names else await self._label(name)
        started, outcome = time.perf_counter(), "error"
        try:
            result = await call_next(ctx)
            failed = result.get("isError") if isinstance(result, dict) else getattr(result, "is_error", False)
            outcome = "tool_error" if failed else "ok"
            return result
        except anyio.get_cancelled_exc_class():
            outcome = "cancelled"
            raise
        finally:
            tool_calls(tool, outcome).inc()
            tool_seconds(tool).observe(time.perf_counter() - started)
