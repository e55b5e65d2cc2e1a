"""Running one streamed model turn: events in, progress notes out, a finished outcome at the end.

Progress matters as much as the answer: clients that honour progress reset their timeout on each note,
so a note goes out whenever a new thought summary or a chunk of answer arrives (throttled by the sink),
and a heartbeat goes out at least every `HEARTBEAT_SECONDS` while Gemini is silent (services/heartbeats.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

import anyio

from gemini_interactions_mcp.gemini import (
    GeminiError,
    Interaction,
    InteractionAccumulator,
    InteractionsClient,
    InteractionStream,
)
from gemini_interactions_mcp.services.errors import ServiceError
from gemini_interactions_mcp.services.heartbeats import Heartbeats, Progress
from gemini_interactions_mcp.services.metering import usage_totals
from gemini_interactions_mcp.services.outputs import answer_blocks, answer_text
from gemini_interactions_mcp.services.reports import headline
from gemini_interactions_mcp.state import UsageCounts

CANCEL_TIMEOUT_SECONDS = 3.0
QUIET_SECONDS = 0.5
"""A turn sends no progress notes in its first half second: an answer that fast needs none, and the first
note makes the MCP response an event stream (about 0.8 ms more server CPU per call with progress tokens,
bench/http_load.py --progress)."""
FAILED_STATUSES = frozenset({"failed", "cancelled"})


@dataclass
class TurnOutcome:
    """How a model turn ended, as the services pass it on (a dataclass: it is made from checked parts
    on every turn, and never crosses an edge of the server; pydantic took 2.8 µs to make one, 0.7)."""

    interaction_id: str
    status: str
    text: str
    usage: UsageCounts = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    blocks: list[dict[str, Any]] = field(default_factory=list)
    """The whole answer in order: text and media blocks (media still base64: never shown as such)."""
    function_calls: list[dict[str, Any]] = field(default_factory=list)
    """The `function_call` steps of a turn that ended in `requires_action` (id, name, arguments)."""


def function_calls(interaction: Interaction) -> list[dict[str, Any]]:
    """The function calls the model asks the caller to run, as plain data (only they are dumped: every
    turn asks, and most have none)."""
    calls = [s for s in interaction.steps or [] if s.type == "function_call"]
    return [s.model_dump(mode="json", exclude_none=True) for s in calls]


def stored_outcome(interaction: Interaction) -> TurnOutcome:
    """An interaction of this turn read back from upstream (its usage was counted when it ran)."""
    blocks = answer_blocks(interaction.steps)
    return TurnOutcome(
        interaction_id=interaction.id,
        status=str(interaction.status),
        text=answer_text(blocks),
        blocks=blocks,
        function_calls=function_calls(interaction),
    )


def failure_message(interaction: Interaction) -> str:
    """Why an interaction ended in `failed`, in words that say what to do."""
    reasons = [str(getattr(e, "message", "") or e) for e in (interaction.errors or [])]
    for step in interaction.steps or []:
        error = getattr(step, "error", None)
        if error is not None:
            reasons.append(str(getattr(error, "message", "") or error))
    reason = "; ".join(r for r in reasons if r) or "no reason given"
    if "safety" in reason.lower() or "blocked" in reason.lower():
        return (
            f"Gemini blocked this request or its answer for safety reasons ({reason}). Rephrase the "
            "question or remove the content that triggered it."
        )
    return f"Gemini could not complete the answer ({interaction.status}: {reason}). Try again."


def _hand_back(stream: InteractionStream, limit: asyncio.Timeout) -> None:
    """On a drain, end the wait as its deadline would, once the interaction is named (a handle to
    return); a turn not yet named by Gemini is handed back as soon as its first event names it."""
    if stream.interaction_id and not limit.expired():
        limit.reschedule(asyncio.get_running_loop().time())


async def run_streamed_turn(
    client: InteractionsClient,
    body: dict[str, Any],
    progress: Progress,
    *,
    label: str,
    deadline: float,
    heartbeats: Heartbeats,
) -> TurnOutcome:
    """Create a background interaction and follow its event stream until it ends or `deadline` passes.

    One request: a POST with `background` and `stream`, whose first event (`interaction.created`)
    names the interaction before any answer text, so a dropped stream resumes from its last event and a
    deadline always leaves a handle. (It replaced a create followed by a GET of the stream: one round
    trip less per turn, measured in bench/turn_requests.py.)

    Past the deadline the stream is closed and the outcome says `in_progress`: the interaction keeps
    running upstream and a job watcher collects it. If the caller is cancelled (the MCP client gave up),
    the stream is closed at once and the upstream interaction is cancelled too, since nobody will read it.
    Raises ServiceError on a failed turn.
    """
    accumulator = InteractionAccumulator()
    shown_thoughts = 0
    shown_chars = 0
    stream = client.stream_create({**body, "background": True})
    limit = asyncio.timeout(deadline)
    try:
        async with limit:
            with heartbeats.watch(progress, label, on_drain=lambda: _hand_back(stream, limit)) as watch:
                async with stream:
                    async for event in stream:
                        accumulator.feed(event)
                        if watch.drained:
                            _hand_back(stream, limit)
                        if time.monotonic() - watch.started < QUIET_SECONDS:
                            continue
                        thoughts = accumulator.thought_summaries
                        if len(thoughts) > shown_thoughts:
                            shown_thoughts = len(thoughts)
                            await watch.note(f"Thinking: {headline(thoughts[-1])}")
                        elif accumulator.text_received > shown_chars:
                            shown_chars = accumulator.text_received
                            await watch.note(f"Answering… {shown_chars} characters so far")
    except TimeoutError:
        if not limit.expired():  # not the deadline's
            raise
    except anyio.get_cancelled_exc_class():
        await _cancel_upstream(client, stream.interaction_id or "")
        raise
    interaction_id = stream.interaction_id or ""
    if limit.expired():
        if not interaction_id:
            raise ServiceError(f"Gemini did not accept the request within {deadline:.0f} s. Try again.")
        return TurnOutcome(interaction_id=interaction_id, status="in_progress", text=accumulator.text or "")
    head = accumulator.head
    if head.status in FAILED_STATUSES:
        # The stream's summary may lack the reason; the stored resource has every step's error.
        failed = accumulator.interaction
        with contextlib.suppress(GeminiError):
            failed = await client.get(interaction_id)
        raise ServiceError(failure_message(failed))
    notes: list[str] = []
    if head.status == "incomplete":
        notes.append("The answer was cut short (output token limit); ask to continue for the rest.")
    elif head.status not in ("completed", "requires_action"):
        notes.append(f"Gemini ended the turn with status {head.status}.")
    blocks = answer_blocks(accumulator.steps)
    calls = function_calls(accumulator.interaction) if head.status == "requires_action" else []
    return TurnOutcome(
        interaction_id=interaction_id,
        status=str(head.status),
        text=answer_text(blocks),
        usage=usage_totals(head, model=body.get("model") or body.get("agent")),
        notes=notes,
        blocks=blocks,
        function_calls=calls,
    )


async def _cancel_upstream(client: InteractionsClient, interaction_id: str) -> None:
    """Best effort, bounded: stop a background interaction nobody is going to read."""
    if not interaction_id:
        return
    with (
        anyio.CancelScope(shield=True),
        anyio.move_on_after(CANCEL_TIMEOUT_SECONDS),
        contextlib.suppress(GeminiError),
    ):
        await client.cancel(interaction_id)
