"""Steps of an interaction's timeline (section 6.1), as an open union on `type`.

Server-side tool calls and results come in pairs (`*_call.id` <-> `*_result.call_id`); each type has
its own model, sharing the ToolCallStep / ToolResultStep bases so callers can treat them alike.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Tag

from gemini_interactions_mcp.gemini.models._open import UNKNOWN, OpenModel, tag_by
from gemini_interactions_mcp.gemini.models.content import Content


class StatusDetail(OpenModel):
    """google.rpc.Status carried by a failed model_output."""

    code: int | str | None = None
    message: str | None = None
    details: list[Any] | None = None


class UserInputStep(OpenModel):
    type: Literal["user_input"] = "user_input"
    content: list[Content] | None = None


class ModelOutputStep(OpenModel):
    type: Literal["model_output"] = "model_output"
    content: list[Content] | None = None
    error: StatusDetail | None = None


class ThoughtStep(OpenModel):
    """`signature` is opaque and must be replayed unchanged when history is sent back statelessly."""

    type: Literal["thought"] = "thought"
    signature: str | None = None
    summary: list[Content] | None = None


class FunctionCallStep(OpenModel):
    """The model asks the client to run a declared function (status becomes requires_action)."""

    type: Literal["function_call"] = "function_call"
    id: str = ""
    name: str = ""
    arguments: dict[str, Any] | None = None


class FunctionResultStep(OpenModel):
    """The client's answer to a function_call; `result` is a string, Content[] or an object."""

    type: Literal["function_result"] = "function_result"
    call_id: str = ""
    result: Any = None
    name: str | None = None
    is_error: bool | None = None


class ToolCallStep(OpenModel):
    """Base of the server-side tool calls; `arguments` differ per tool and stay open."""

    type: str
    id: str = ""
    arguments: dict[str, Any] | None = None
    signature: str | None = None


class ToolResultStep(OpenModel):
    """Base of the server-side tool results, paired to their call by `call_id`."""

    type: str
    call_id: str = ""
    result: Any = None
    is_error: bool | None = None
    signature: str | None = None


class CodeExecutionCallStep(ToolCallStep):
    type: Literal["code_execution_call"] = "code_execution_call"


class CodeExecutionResultStep(ToolResultStep):
    type: Literal["code_execution_result"] = "code_execution_result"


class GoogleSearchCallStep(ToolCallStep):
    type: Literal["google_search_call"] = "google_search_call"
    search_type: str | None = None


class GoogleSearchResultStep(ToolResultStep):
    type: Literal["google_search_result"] = "google_search_result"


class UrlContextCallStep(ToolCallStep):
    type: Literal["url_context_call"] = "url_context_call"


class UrlContextResultStep(ToolResultStep):
    type: Literal["url_context_result"] = "url_context_result"


class FileSearchCallStep(ToolCallStep):
    type: Literal["file_search_call"] = "file_search_call"


class FileSearchResultStep(ToolResultStep):
    type: Literal["file_search_result"] = "file_search_result"


class GoogleMapsCallStep(ToolCallStep):
    type: Literal["google_maps_call"] = "google_maps_call"


class GoogleMapsResultStep(ToolResultStep):
    type: Literal["google_maps_result"] = "google_maps_result"


class McpServerToolCallStep(ToolCallStep):
    type: Literal["mcp_server_tool_call"] = "mcp_server_tool_call"
    name: str = ""
    server_name: str = ""


class McpServerToolResultStep(ToolResultStep):
    type: Literal["mcp_server_tool_result"] = "mcp_server_tool_result"
    name: str | None = None
    server_name: str | None = None


class RetrievalCallStep(ToolCallStep):
    type: Literal["retrieval_call"] = "retrieval_call"
    retrieval_type: str | None = None


class RetrievalResultStep(ToolResultStep):
    type: Literal["retrieval_result"] = "retrieval_result"


class ProcessingCallStep(ToolCallStep):
    type: Literal["processing_call"] = "processing_call"


class ProcessingResultStep(ToolResultStep):
    type: Literal["processing_result"] = "processing_result"


class UnknownStep(OpenModel):
    """A step type this client does not know yet, kept whole (it can be re-sent as history)."""

    type: str | None = None


_STEP_MODELS: tuple[type[OpenModel], ...] = (
    UserInputStep,
    ModelOutputStep,
    ThoughtStep,
    FunctionCallStep,
    FunctionResultStep,
    CodeExecutionCallStep,
    CodeExecutionResultStep,
    GoogleSearchCallStep,
    GoogleSearchResultStep,
    UrlContextCallStep,
    UrlContextResultStep,
    FileSearchCallStep,
    FileSearchResultStep,
    GoogleMapsCallStep,
    GoogleMapsResultStep,
    McpServerToolCallStep,
    McpServerToolResultStep,
    RetrievalCallStep,
    RetrievalResultStep,
    ProcessingCallStep,
    ProcessingResultStep,
)
STEP_TYPES = tuple(str(model.model_fields["type"].default) for model in _STEP_MODELS)

Step = Annotated[
    Annotated[UserInputStep, Tag("user_input")]
    | Annotated[ModelOutputStep, Tag("model_output")]
    | Annotated[ThoughtStep, Tag("thought")]
    | Annotated[FunctionCallStep, Tag("function_call")]
    | Annotated[FunctionResultStep, Tag("function_result")]
    | Annotated[CodeExecutionCallStep, Tag("code_execution_call")]
    | Annotated[CodeExecutionResultStep, Tag("code_execution_result")]
    | Annotated[GoogleSearchCallStep, Tag("google_search_call")]
    | Annotated[GoogleSearchResultStep, Tag("google_search_result")]
    | Annotated[UrlContextCallStep, Tag("url_context_call")]
    | Annotated[UrlContextResultStep, Tag("url_context_result")]
    | Annotated[FileSearchCallStep, Tag("file_search_call")]
    | Annotated[FileSearchResultStep, Tag("file_search_result")]
    | Annotated[GoogleMapsCallStep, Tag("google_maps_call")]
    | Annotated[GoogleMapsResultStep, Tag("google_maps_result")]
    | Annotated[McpServerToolCallStep, Tag("mcp_server_tool_call")]
    | Annotated[McpServerToolResultStep, Tag("mcp_server_tool_result")]
    | Annotated[RetrievalCallStep, Tag("retrieval_call")]
    | Annotated[RetrievalResultStep, Tag("retrieval_result")]
    | Annotated[ProcessingCallStep, Tag("processing_call")]
    | Annotated[ProcessingResultStep, Tag("processing_result")]
    | Annotated[UnknownStep, Tag(UNKNOWN)],
    Discriminator(tag_by("type", STEP_TYPES)),
]
