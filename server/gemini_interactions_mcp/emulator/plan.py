"""What a simulated run will do, decided once at creation time.

A run is a list of output steps, each with the moment (seconds after creation) it starts and finishes,
plus the final status and usage. Everything observable later (GET snapshots, SSE events, cancellation)
is a pure function of the plan and the elapsed time, so no background task is needed: the same code
works in-process under a buffering ASGI transport and live over uvicorn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]


@dataclass(frozen=True)
class PlannedStep:
    """One output step and the time window in which it is produced."""

    step: JSON
    start: float
    end: float


@dataclass(frozen=True)
class Run:
    """The whole simulated output of one interaction."""

    steps: tuple[PlannedStep, ...]
    duration: float
    status: str
    usage: JSON
    kind: str = "answer"
    """`plan` marks a collaborative-planning turn, so the next turn knows to run the research."""
    notes: JSON = field(default_factory=dict)


def sequential(steps: Sequence[JSON], duration: float) -> tuple[PlannedStep, ...]:
    """Spread steps over `duration` in equal consecutive slices (all at 0 when the run is instant)."""
    if not steps:
        return ()
    width = duration / len(steps)
    return tuple(PlannedStep(step, i * width, (i + 1) * width) for i, step in enumerate(steps))
