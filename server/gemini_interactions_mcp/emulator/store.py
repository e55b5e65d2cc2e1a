"""In-memory state: stored interactions, custom agents and environments.

A record keeps the plan of its run and the moment it started; its observable state is derived on read
(see `views` and `events`), so storing never races with a running simulation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .history import History
from .plan import JSON, Run

TERMINAL = frozenset({"completed", "failed", "cancelled", "incomplete", "budget_exceeded"})


@dataclass
class InteractionRecord:
    """One interaction: what was asked, what the run will produce, and what happened to it since."""

    id: str
    target: tuple[str, str]
    """("model" | "agent", name)."""
    created_wall: float
    started: float
    """Monotonic clock reading at creation; elapsed time drives the simulation."""
    input_value: Any
    input_steps: list[JSON]
    history: History
    """The earlier turns of the chain (for the responders; never returned)."""
    echo: JSON
    run: Run
    background: bool
    stored: bool
    turn: int
    event_ids: bool = True
    """Whether this interaction's stream events carry `event_id` (see EmulatorConfig.event_ids)."""
    environment_id: str | None = None
    cancelled_at: float | None = None
    timeline_cache: Any = field(default=None, repr=False, compare=False)
    """The stream's events, computed once per state of `cancelled_at` (see `events.timeline`)."""
    conversation_cache: History | None = field(default=None, repr=False, compare=False)

    @property
    def public_id(self) -> str:
        """The id as the service shows it: none for `store: false` (its stream says "")."""
        return self.id if self.stored else ""

    def finish_offset(self) -> float:
        """Seconds after creation at which the run ends (earlier if it was cancelled)."""
        if self.cancelled_at is not None:
            return min(self.cancelled_at, self.run.duration)
        return self.run.duration

    def status_at(self, elapsed: float) -> str:
        if self.cancelled_at is not None and self.cancelled_at < self.run.duration:
            return "cancelled"
        return self.run.status if elapsed >= self.run.duration else "in_progress"

    def output_steps_at(self, elapsed: float) -> list[JSON]:
        """Output steps finished by `elapsed` (a step in the middle of being produced is not shown)."""
        horizon = min(elapsed, self.finish_offset())
        return [p.step for p in self.run.steps if p.end <= horizon]

    def timeline(self) -> list[JSON]:
        """Everything this turn added to the conversation (input then full output)."""
        return [*self.input_steps, *(p.step for p in self.run.steps)]

    def conversation(self) -> History:
        """The history a turn continuing this one sees: this chain's up to and including this turn.
        Built on the first continuation (never for a turn nobody continues), then shared by all."""
        if self.conversation_cache is None:
            self.conversation_cache = self.history.then(self.timeline())
        return self.conversation_cache


@dataclass
class EnvironmentRecord:
    """A sandbox created by a managed-agent run; later turns may name it to keep working in it."""

    id: str
    created_wall: float
    last_accessed_wall: float
    sources: list[JSON] = field(default_factory=list)
    network: Any = None
    files: list[str] = field(default_factory=list)


@dataclass
class Store:
    """All state of one emulator instance; `clear` is what `POST /_emulator/reset` does."""

    interactions: dict[str, InteractionRecord] = field(default_factory=dict)
    agents: dict[str, JSON] = field(default_factory=dict)
    environments: dict[str, EnvironmentRecord] = field(default_factory=dict)

    def clear(self) -> None:
        self.interactions.clear()
        self.agents.clear()
        self.environments.clear()
