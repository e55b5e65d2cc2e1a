"""Server-sent events of a streamed interaction (section 8), discriminated by `event_type`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Tag

from gemini_interactions_mcp.gemini.models._open import UNKNOWN, OpenModel, tag_by
from gemini_interactions_mcp.gemini.models.content import Annotation, Content
from gemini_interactions_mcp.gemini.models.interaction import Interaction, Usage
from gemini_interactions_mcp.gemini.models.steps import Step


class TextDelta(OpenModel):
    type: Literal["text"] = "text"
    text: str = ""


class ThoughtSummaryDelta(OpenModel):
    type: Literal["thought_summary"] = "thought_summary"
    content: Content | None = None


class ThoughtSignatureDelta(OpenModel):
    type: Literal["thought_signature"] = "thought_signature"
    signature: str = ""


class ArgumentsDelta(OpenModel):
    type: Literal["arguments_delta"] = "arguments_delta"
    arguments: str = ""


class TextAnnotationDelta(OpenModel):
    type: Literal["text_annotation_delta"] = "text_annotation_delta"
    annotations: list[Annotation] | None = None


class OtherDelta(OpenModel):
    """Media chunks, tool call/result payloads and any future delta: fields kept as sent."""

    type: str | None = None


Delta = Annotated[
    Annotated[TextDelta, Tag("text")]
    | Annotated[ThoughtSummaryDelta, Tag("thought_summary")]
    | Annotated[ThoughtSignatureDelta, Tag("thought_signature")]
    | Annotated[ArgumentsDelta, Tag("arguments_delta")]
    | Annotated[TextAnnotationDelta, Tag("text_annotation_delta")]
    | Annotated[OtherDelta, Tag(UNKNOWN)],
    Discriminator(
        tag_by(
            "type",
            ["text", "thought_summary", "thought_signature", "arguments_delta", "text_annotation_delta"],
        )
    ),
]


class _Event(OpenModel):
    event_id: str | None = None


class InteractionCreatedEvent(_Event):
    event_type: Literal["interaction.created"] = "interaction.created"
    interaction: Interaction


class InteractionStatusUpdateEvent(_Event):
    event_type: Literal["interaction.status_update"] = "interaction.status_update"
    interaction_id: str | None = None
    status: str | None = None
    continuation_token: str | None = None
    usage: Usage | None = None


class StepStartEvent(_Event):
    event_type: Literal["step.start"] = "step.start"
    index: int = 0
    step: Step


class StepDeltaEvent(_Event):
    event_type: Literal["step.delta"] = "step.delta"
    index: int = 0
    delta: Delta
    metadata: dict[str, Any] | None = None


class StepStopEvent(_Event):
    event_type: Literal["step.stop"] = "step.stop"
    index: int = 0
    usage: Usage | None = None
    step_usage: Usage | None = None


class InteractionCompletedEvent(_Event):
    event_type: Literal["interaction.completed"] = "interaction.completed"
    interaction: Interaction


class ErrorBody(OpenModel):
    code: str | int | None = None
    message: str | None = None


class ErrorEvent(_Event):
    event_type: Literal["error"] = "error"
    error: ErrorBody


class UnknownEvent(_Event):
    event_type: str | None = None


EVENT_TYPES = [
    "interaction.created",
    "interaction.status_update",
    "step.start",
    "step.delta",
    "step.stop",
    "interaction.completed",
    "error",
]

InteractionEvent = Annotated[
    Annotated[InteractionCreatedEvent, Tag("interaction.created")]
    | Annotated[InteractionStatusUpdateEvent, Tag("interaction.status_update")]
    | Annotated[StepStartEvent, Tag("step.start")]
    | Annotated[StepDeltaEvent, Tag("step.delta")]
    | Annotated[StepStopEvent, Tag("step.stop")]
    | Annotated[InteractionCompletedEvent, Tag("interaction.completed")]
    | Annotated[ErrorEvent, Tag("error")]
    | Annotated[UnknownEvent, Tag(UNKNOWN)],
    Discriminator(tag_by("event_type", EVENT_TYPES)),
]
