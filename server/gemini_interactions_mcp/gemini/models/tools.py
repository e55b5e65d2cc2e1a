"""Tools a request may declare (section 4.4), as an open union on `type`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Tag

from gemini_interactions_mcp.gemini.models._open import UNKNOWN, OpenModel, tag_by


class FunctionTool(OpenModel):
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


class McpServerTool(OpenModel):
    type: Literal["mcp_server"] = "mcp_server"
    name: str | None = None
    url: str | None = None
    headers: dict[str, str] | None = None
    allowed_tools: list[dict[str, Any]] | None = None


class UnknownTool(OpenModel):
    """google_maps, computer_use, retrieval and any future tool: kept as given."""

    type: str | None = None


KNOWN_TOOLS = ["function", "google_search", "code_execution", "url_context", "file_search", "mcp_server"]

Tool = Annotated[
    Annotated[FunctionTool, Tag("function")]
    | Annotated[GoogleSearchTool, Tag("google_search")]
    | Annotated[CodeExecutionTool, Tag("code_execution")]
    | Annotated[UrlContextTool, Tag("url_context")]
    | Annotated[FileSearchTool, Tag("file_search")]
    | Annotated[McpServerTool, Tag("mcp_server")]
    | Annotated[UnknownTool, Tag(UNKNOWN)],
    Discriminator(tag_by("type", KNOWN_TOOLS)),
]
