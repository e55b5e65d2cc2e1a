"""Tools a request may declare (section 4.4), as an open union on `type`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Tag

from gemini_interactions_mcp.gemini.models._open import UNKNOWN, OpenModel, tag_by


class FunctionTool(OpenModel):
    """A client-side function: the model calls it, the client runs it and answers (section 7)."""

    type: Literal["function"] = "function"
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None


class GoogleSearchTool(OpenModel):
    type: Literal["google_search"] = "google_search"
    search_types: list[str] | None = None


class CodeExecutionTool(OpenModel):
    type: Literal["code_execution"] = "code_execution"


class UrlContextTool(OpenModel):
    type: Literal["url_context"] = "url_context"


class FileSearchTool(OpenModel):
    type: Literal["file_search"] = "file_search"
    file_search_store_names: list[str] | None = None
    top_k: int | None = None
    metadata_filter: str | None = None


class GoogleMapsTool(OpenModel):
    type: Literal["google_maps"] = "google_maps"
    latitude: float | None = None
    longitude: float | None = None
    enable_widget: bool | None = None


class McpServerTool(OpenModel):
    """A remote MCP server the API calls itself (its headers may hold credentials: never log them)."""

    type: Literal["mcp_server"] = "mcp_server"
    name: str | None = None
    url: str | None = None
    headers: dict[str, str] | None = None
    allowed_tools: list[dict[str, Any]] | None = None


class ComputerUseTool(OpenModel):
    type: Literal["computer_use"] = "computer_use"
    environment: str | None = None
    excluded_predefined_functions: list[str] | None = None
    enable_prompt_injection_detection: bool | None = None
    disabled_safety_policies: list[str] | None = None


class RetrievalTool(OpenModel):
    """Vertex-oriented retrieval; its nested configs stay open dictionaries."""

    type: Literal["retrieval"] = "retrieval"
    retrieval_types: list[str] | None = None
    vertex_ai_search_config: dict[str, Any] | None = None
    rag_store_config: dict[str, Any] | None = None


class UnknownTool(OpenModel):
    """A tool type this client does not know yet, kept as given."""

    type: str | None = None


TOOL_TYPES = (
    "function",
    "google_search",
    "code_execution",
    "url_context",
    "file_search",
    "google_maps",
    "mcp_server",
    "computer_use",
    "retrieval",
)

Tool = Annotated[
    Annotated[FunctionTool, Tag("function")]
    | Annotated[GoogleSearchTool, Tag("google_search")]
    | Annotated[CodeExecutionTool, Tag("code_execution")]
    | Annotated[UrlContextTool, Tag("url_context")]
    | Annotated[FileSearchTool, Tag("file_search")]
    | Annotated[GoogleMapsTool, Tag("google_maps")]
    | Annotated[McpServerTool, Tag("mcp_server")]
    | Annotated[ComputerUseTool, Tag("computer_use")]
    | Annotated[RetrievalTool, Tag("retrieval")]
    | Annotated[UnknownTool, Tag(UNKNOWN)],
    Discriminator(tag_by("type", TOOL_TYPES)),
]
