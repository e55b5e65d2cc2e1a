"""Server-sent events of a streamed interaction (section 8), and the deltas they carry (8.3).

Events are discriminated by their JSON `event_type` (never by the SSE `event:` line, as in the SDK);
deltas by `type`. Both unions are open: an unknown kind parses into UnknownEvent / UnknownDelta.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Tag

from gemini_interactions_mcp.gemini.models._open import UNKNOWN, OpenModel, tag_by
from gemini_interactions_mcp.gemini.models.content import Annotation, Content
from gemini_interactions_mcp.gemini.models.interaction import Interaction, Usage
from gemini_interactions_mcp.gemini.models.steps import Step

# -- deltas ------------------------------------------------------------------------------------


class TextDelta(OpenModel):
    type: Literal["text"] = "text"
    text: str = ""


class MediaDelta(OpenModel):
    """Shared shape of media chunks (image, audio, video, document)."""

    data: str | None = None
    uri: str | None = None
    mime_type: str | None = None


class ImageDelta(MediaDelta):
    type: Literal["image"] = "image"
    resolution: str | None = None


class AudioDelta(MediaDelta):
    type: Literal["audio"] = "audio"
    sample_rate: int | None = None
    channels: int | None = None
    rate: int | None = None


class VideoDelta(MediaDelta):
    type: Literal["video"] = "video"
    resolution: str | None = None


class DocumentDelta(MediaDelta):
    type: Literal["document"] = "document"


class TextAnnotationDelta(OpenModel):
    type: Literal["text_annotation_delta"] = "text_annotation_delta"
    annotations: list[Annotation] | None = None


class ThoughtSummaryDelta(OpenModel):
    type: Literal["thought_summary"] = "thought_summary"
    content: Content | None = None


class ThoughtSignatureDelta(OpenModel):
    type: Literal["thought_signature"] = "thought_signature"
    signature: str = ""


class ArgumentsDelta(OpenModel):
    """A function call's arguments: a JSON text fragment (fragments concatenate in order), or, as real
    streams also send, the arguments whole as a JSON object."""

    type: Literal["arguments_delta"] = "arguments_delta"
    arguments: str | dict[str, Any] = ""


class ToolCallDelta(OpenModel):
    """The payload of a server-side tool call step (its fields complete the step shell)."""

    type: str
    arguments: dict[str, Any] | None = None
    signature: str | None = None


class ToolResultDelta(OpenModel):
    """The payload of a tool result step (server-side tools, and function_result)."""

    type: str
    result: Any = None
    is_error: bool | None = None
    signature: str | None = None


class CodeExecutionCallDelta(ToolCallDelta):
    type: Literal["code_execution_call"] = "code_execution_call"


class CodeExecutionResultDelta(ToolResultDelta):
    type: Literal["code_execution_result"] = "code_execution_result"


class GoogleSearchCallDelta(ToolCallDelta):
    type: Literal["google_search_call"] = "google_search_call"


class GoogleSearchResultDelta(ToolResultDelta):
    type: Literal["google_search_result"] = "google_search_result"


class UrlContextCallDelta(ToolCallDelta):
    type: Literal["url_context_call"] = "url_context_call"


class UrlContextResultDelta(ToolResultDelta):
    type: Literal["url_context_result"] = "url_context_result"


class FileSearchCallDelta(ToolCallDelta):
    type: Literal["file_search_call"] = "file_search_call"


class FileSearchResultDelta(ToolResultDelta):
    type: Literal["file_search_result"] = "file_search_result"


class GoogleMapsCallDelta(ToolCallDelta):
    type: Literal["google_maps_call"] = "google_maps_call"


class GoogleMapsResultDelta(ToolResultDelta):
    type: Literal["google_maps_result"] = "google_maps_result"


class McpServerToolCallDelta(ToolCallDelta):
    type: Literal["mcp_server_tool_call"] = "mcp_server_tool_call"
    name: str | None = None
    server_name: str | None = None


class McpServerToolResultDelta(ToolResultDelta):
    type: Literal["mcp_server_tool_result"] = "mcp_server_tool_result"
    name: str | None = None
    server_name: str | None = None


class FunctionResultDelta(ToolResultDelta):
    type: Literal["function_result"] = "function_result"
    name: str | None = None


class RetrievalCallDelta(ToolCallDelta):
    type: Literal["retrieval_call"] = "retrieval_call"
    retrieval_type: str | None = None


class RetrievalResultDelta(ToolResultDelta):
    type: Literal["retrieval_result"] = "retrieval_result"


class ProcessingCallDelta(ToolCallDelta):
    type: Literal["processing_call"] = "processing_call"


class ProcessingResultDelta(ToolResultDelta):
    type: Literal["processing_result"] = "processing_result"


class UnknownDelta(OpenModel):
    """A delta type this client does not know yet, kept whole."""

    type: str | None = None


_DELTA_MODELS: tuple[type[OpenModel], ...] = (
    TextDelta,
    ImageDelta,
    AudioDelta,
    VideoDelta,
    DocumentDelta,
    TextAnnotationDelta,
    ThoughtSummaryDelta,
    ThoughtSignatureDelta,
    ArgumentsDelta,
    CodeExecutionCallDelta,
    CodeExecutionResultDelta,
    GoogleSearchCallDelta,
    GoogleSearchResultDelta,
    UrlContextCallDelta,
    UrlContextResultDelta,
    FileSearchCallDelta,
    FileSearchResultDelta,
    GoogleMapsCallDelta,
    GoogleMapsResultDelta,
    McpServerToolCallDelta,
    McpServerToolResultDelta,
    FunctionResultDelta,
    RetrievalCallDelta,
    RetrievalResultDelta,
    ProcessingCallDelta,
    ProcessingResultDelta,
)
DELTA_TYPES = tuple(str(model.model_fields["type"].default) for model in _DELTA_MODELS)

Delta = Annotated[
    Annotated[TextDelta, Tag("text")]
    | Annotated[ImageDelta, Tag("image")]
    | Annotated[AudioDelta, Tag("audio")]
    | Annotated[VideoDelta, Tag("video")]
    | Annotated[DocumentDelta, Tag("document")]
    | Annotated[TextAnnotationDelta, Tag("text_annotation_delta")]
    | Annotated[ThoughtSummaryDelta, Tag("thought_summary")]
    | Annotated[ThoughtSignatureDelta, Tag("thought_signature")]
    | Annotated[ArgumentsDelta, Tag("arguments_delta")]
    | Annotated[CodeExecutionCallDelta, Tag("code_execution_call")]
    | Annotated[CodeExecutionResultDelta, Tag("code_execution_result")]
    | Annotated[GoogleSearchCallDelta, Tag("google_search_call")]
    | Annotated[GoogleSearchResultDelta, Tag("google_search_result")]
    | Annotated[UrlContextCallDelta, Tag("url_context_call")]
    | Annotated[UrlContextResultDelta, Tag("url_context_result")]
    | Annotated[FileSearchCallDelta, Tag("file_search_call")]
    | Annotated[FileSearchResultDelta, Tag("file_search_result")]
    | Annotated[GoogleMapsCallDelta, Tag("google_maps_call")]
    | Annotated[GoogleMapsResultDelta, Tag("google_maps_result")]
    | Annotated[McpServerToolCallDelta, Tag("mcp_server_tool_call")]
    | Annotated[McpServerToolResultDelta, Tag("mcp_server_tool_result")]
    | Annotated[FunctionResultDelta, Tag("function_result")]
    | Annotated[RetrievalCallDelta, Tag("retrieval_call")]
    | Annotated[RetrievalResultDelta, Tag("retrieval_result")]
    | Annotated[ProcessingCallDelta, Tag("processing_call")]
    | Annotated[ProcessingResultDelta, Tag("processing_result")]
    | Annotated[UnknownDelta, Tag(UNKNOWN)],
    Discriminator(tag_by("type", DELTA_TYPES)),
]

# -- events ------------------------------------------------------------------------------------


class _Event(OpenModel):
    """`event_id` is the resumption token (`last_event_id`); the SSE `id:` line is not used."""

    event_id: str | None = None
    metadata: dict[str, Any] | None = None


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
    """Opens step `index`; the shell may already carry content (e.g. a thought's summary)."""

    event_type: Literal["step.start"] = "step.start"
    index: int = 0
    step: Step


class StepDeltaEvent(_Event):
    event_type: Literal["step.delta"] = "step.delta"
    index: int = 0
    delta: Delta


class StepStopEvent(_Event):
    event_type: Literal["step.stop"] = "step.stop"
    index: int = 0
    usage: Usage | None = None
    step_usage: Usage | None = None


class InteractionCompletedEvent(_Event):
    """The end of the run; its interaction carries status and usage but no steps."""

    event_type: Literal["interaction.completed"] = "interaction.completed"
    interaction: Interaction


class ErrorBody(OpenModel):
    code: str | int | None = None
    message: str | None = None


class ErrorEvent(_Event):
    event_type: Literal["error"] = "error"
    error: ErrorBody


class UnknownEvent(_Event):
    """An event type this client does not know yet, kept whole."""

    event_type: str | None = None


EVENT_TYPES = (
    "interaction.created",
    "interaction.status_update",
    "step.start",
    "step.delta",
    "step.stop",
    "interaction.completed",
    "error",
)

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
