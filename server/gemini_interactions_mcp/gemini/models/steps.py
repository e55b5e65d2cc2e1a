"""Steps of an interaction's timeline (section 6.1), as an open union on `type`.

Server-side tool calls and results share two shapes (`*_call` with `id`/`arguments`, `*_result` with
`call_id`/`result`); their exact `type` string is kept, so nothing is lost by sharing the model.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag

from gemini_interactions_mcp.gemini.models._open import UNKNOWN, OpenModel, tag_by
from gemini_interactions_mcp.gemini.models.content import Content

TOOL_CALL_TYPES = (
    "code_execution_call",
    "google_search_call",
    "url_context_call",
    "file_search_call",
    "google_maps_call",
    "mcp_server_tool_call",
    "retrieval_call",
    "processing_call",
)
TOOL_RESULT_TYPES = (
    "code_execution_result",
    "google_search_result",
    "url_context_result",
    "file_search_result",
    "google_maps_result",
    "mcp_server_tool_result",
    "retrieval_result",
    "processing_result",
)


class StatusDetail(OpenModel):
    code: int | str | None = None
    message: str | None = None


class UserInputStep(OpenModel):
    type: Literal["user_input"] = "user_input"
    content: list[Content] | None = None


class ModelOutputStep(OpenModel):
    type: Literal["model_output"] = "model_output"
    content: list[Content] | None = None
    error: StatusDetail | None = None


class ThoughtStep(OpenModel):
    type: Literal["thought"] = "thought"
    signature: str | None = None
    summary: list[Content] | None = None


class FunctionCallStep(OpenModel):
    type: Literal["function_call"] = "function_call"
    id: str = ""
    name: str = ""
    arguments: dict[str, Any] = Field(default_factory=dict)


class FunctionResultStep(OpenModel):
    type: Literal["function_result"] = "function_result"
    call_id: str = ""
    result: Any = None
    name: str | None = None
    is_error: bool | None = None


class ToolCallStep(OpenModel):
    """Any server-side tool call (`code_execution_call`, `google_search_call`, ...)."""

    type: str
    id: str = ""
    arguments: dict[str, Any] | None = None
    signature: str | None = None


class ToolResultStep(OpenModel):
    """Any server-side tool result, paired to its call by `call_id`."""

    type: str
    call_id: str = ""
    result: Any = None
    is_error: bool | None = None
    signature: str | None = None


class UnknownStep(OpenModel):
    type: str | None = None


Step = Annotated[
    Annotated[UserInputStep, Tag("user_input")]
    | Annotated[ModelOutputStep, Tag("model_output")]
    | Annotated[ThoughtStep, Tag("thought")]
    | Annotated[FunctionCallStep, Tag("function_call")]
    | Annotated[FunctionResultStep, Tag("function_result")]
    | Annotated[ToolCallStep, Tag("tool_call")]
    | Annotated[ToolResultStep, Tag("tool_result")]
    | Annotated[UnknownStep, Tag(UNKNOWN)],
    Discriminator(
        tag_by(
            "type",
            ["user_input", "model_output", "thought", "function_call", "function_result"],
            aliases={
                **dict.fromkeys(TOOL_CALL_TYPES, "tool_call"),
                **dict.fromkeys(TOOL_RESULT_TYPES, "tool_result"),
            },
        )
    ),
]
