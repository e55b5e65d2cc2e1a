"""Shared bits of the benchmarks: percentiles and a readable table. Benchmarks are scripts, not tests."""

from __future__ import annotations

import statistics


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(label: str, seconds: list[float]) -> str:
    ms = [s * 1000 for s in seconds]
    return (
        f"{label:<42} n={len(ms):<4} p50={percentile(ms, 50):8.2f} ms  p99={percentile(ms, 99):8.2f} ms  "
        f"mean={statistics.fmean(ms):8.2f} ms"
    )
