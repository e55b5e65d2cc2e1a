"""Rebuilding an interaction from its stream: `interaction.completed` carries no steps, so the steps
are assembled from `step.start` shells and their deltas, exactly as the events deliver them.

The MCP layer streams a run, feeds every event here, shows `.text` and `.thought_summaries` as
progress, and reads `.interaction` at the end (status and usage come from `interaction.completed`).
Unknown events and deltas are tolerated: an unknown delta's fields are merged into its step.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
from collections.abc import Callable
from typing import Any

from pydantic import TypeAdapter

from gemini_interactions_mcp.gemini.models import (
    EVENT_TYPES,
    ErrorEvent,
    Interaction,
    InteractionCompletedEvent,
    InteractionCreatedEvent,
    InteractionEvent,
    InteractionStatusUpdateEvent,
    Step,
    StepDeltaEvent,
    StepStartEvent,
    StepStopEvent,
    TextDelta,
    ThoughtSignatureDelta,
    ThoughtSummaryDelta,
    UnknownEvent,
)
from gemini_interactions_mcp.gemini.output import output_text

log = logging.getLogger(__name__)


@functools.cache
def _step_adapter() -> TypeAdapter[Step]:
    return TypeAdapter(Step)


class InteractionAccumulator:
    """Feed events in order; read the interaction so far, its answer text and its thought summaries."""

    def __init__(self) -> None:
        self._base: dict[str, Any] = {}
        self._steps: dict[int, dict[str, Any]] = {}
        self._arguments: dict[int, str] = {}
        self.thought_summaries: list[str] = []
        self.text_received = 0
        """Characters of answer text streamed so far: a progress count that costs nothing to read
        (`text` rebuilds the answer)."""
        self.error: ErrorEvent | None = None
        self._ignored: set[str | None] = set()

    def feed(self, event: InteractionEvent) -> None:
        """Apply one event, in stream order (each kind to its own method, found by the event's class)."""
        _FEEDERS[type(event)](self, event)

    def _on_interaction(self, event: InteractionCreatedEvent | InteractionCompletedEvent) -> None:
        self._base.update({k: v for k, v in event.interaction.given().items() if k != "steps"})

    def _on_status(self, event: InteractionStatusUpdateEvent) -> None:
        if event.status:
            self._base["status"] = event.status
        if event.interaction_id and "id" not in self._base:
            self._base["id"] = event.interaction_id
        if event.usage is not None:
            self._base["usage"] = event.usage

    def _on_step_start(self, event: StepStartEvent) -> None:
        self._steps[event.index] = event.step.wire()
        for block in self._steps[event.index].get("summary") or []:
            self._note_summary(block)

    def _on_step_delta(self, event: StepDeltaEvent) -> None:
        if isinstance(event.delta, TextDelta):  # most events: skip dumping the model
            self._add_text(event.index, event.delta.text)
        elif isinstance(event.delta, ThoughtSignatureDelta):  # one per thought: no dump either
            step = self._steps.setdefault(event.index, {"type": "model_output"})
            given = "signature" in event.delta.model_fields_set
            step["signature"] = event.delta.signature if given else None
        elif isinstance(event.delta, ThoughtSummaryDelta):  # its block alone is kept: dump just that
            content = event.delta.content
            block = content.wire() if content is not None else None
            self._apply(event.index, {"type": "thought_summary", "content": block})
        else:
            self._apply(event.index, event.delta.wire())

    def _on_error(self, event: ErrorEvent) -> None:
        self.error = event

    def _on_unknown(self, event: UnknownEvent) -> None:
        if event.event_type not in self._ignored:
            self._ignored.add(event.event_type)
            if event.event_type not in EVENT_TYPES:  # a known type that failed to parse was logged
                log.warning("ignoring stream events of unknown type %r", event.event_type)

    def _skip(self, event: InteractionEvent) -> None:
        """A step's end: nothing to apply (the step is whole as its deltas left it)."""

    def _note_summary(self, block: Any) -> None:
        if isinstance(block, dict) and block.get("type") == "text" and block.get("text"):
            self.thought_summaries.append(str(block["text"]))

    def _add_text(self, index: int, text: str) -> None:
        content = self._steps.setdefault(index, {"type": "model_output"}).setdefault("content", [])
        if content and content[-1].get("type") == "text":
            content[-1]["text"] = content[-1].get("text", "") + text
        else:
            content.append({"type": "text", "text": text})
        self.text_received += len(text)

    def _apply(self, index: int, delta: dict[str, Any]) -> None:
        step = self._steps.setdefault(index, {"type": "model_output"})
        kind = delta.get("type")
        if kind == "text":
            self._add_text(index, str(delta.get("text") or ""))
        elif kind == "text_annotation_delta":
            content = step.setdefault("content", [])
            if not content or content[-1].get("type") != "text":
                content.append({"type": "text", "text": ""})
            content[-1].setdefault("annotations", []).extend(delta.get("annotations") or [])
        elif kind == "thought_summary":
            block = delta.get("content")
            if block is not None:
                step.setdefault("summary", []).append(block)
                self._note_summary(block)
        elif kind == "arguments_delta":
            self._add_arguments(index, step, delta.get("arguments"))
        elif kind in ("image", "audio", "video", "document"):
            step.setdefault("content", []).append(delta)
        else:
            # Tool call/result payloads: their fields complete the step shell.
            step.update({k: v for k, v in delta.items() if k != "type"})

    def _add_arguments(self, index: int, step: dict[str, Any], fragment: Any) -> None:
        """A JSON text fragment joins the earlier ones; an object (real streams send both) is the
        arguments themselves."""
        if isinstance(fragment, dict):
            step["arguments"] = {**(step.get("arguments") or {}), **fragment}
            return
        self._arguments[index] = self._arguments.get(index, "") + (fragment or "")
        with contextlib.suppress(ValueError):
            parsed = json.loads(self._arguments[index])
            if isinstance(parsed, dict):
                step["arguments"] = parsed

    @property
    def interaction(self) -> Interaction:
        steps = [_step_adapter().validate_python(step) for step in self.steps]
        return Interaction.model_validate({**self._base, "steps": steps})

    @property
    def head(self) -> Interaction:
        """The interaction without its steps (id, status, usage, model...): what a finished turn needs
        of it when it reads the answer from `steps` (building typed steps costs more than the rest)."""
        return Interaction.model_validate(self._base)

    @property
    def steps(self) -> list[dict[str, Any]]:
        """The steps so far as the wire gives them (JSON objects), in order."""
        return [self._steps[i] for i in sorted(self._steps)]

    @property
    def text(self) -> str | None:
        return output_text(self.steps)


_FEEDERS: dict[type[Any], Callable[[InteractionAccumulator, Any], None]] = {
    InteractionCreatedEvent: InteractionAccumulator._on_interaction,
    InteractionCompletedEvent: InteractionAccumulator._on_interaction,
    InteractionStatusUpdateEvent: InteractionAccumulator._on_status,
    StepStartEvent: InteractionAccumulator._on_step_start,
    StepDeltaEvent: InteractionAccumulator._on_step_delta,
    StepStopEvent: InteractionAccumulator._skip,
    ErrorEvent: InteractionAccumulator._on_error,
    UnknownEvent: InteractionAccumulator._on_unknown,
}
"""What `feed` does with each kind of event: every member of the InteractionEvent union."""
