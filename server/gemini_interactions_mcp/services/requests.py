"""What the tools hand the services: each call's request, the literals and defaults of its arguments, and
the bounds of a poll.

Their own module, apart from the services that act on them, because the tools' signatures name them:
registering the tools (and so answering the first `tools/list`) then loads this and pydantic, not the
Gemini client, the state store or the services (tests/test_layers.py pins it).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from gemini_interactions_mcp.services.catalog import Catalog
from gemini_interactions_mcp.services.results import CALL_TIME

ThinkingLevel = Literal["minimal", "low", "medium", "high"]
ImageSize = Literal["512", "1K", "2K", "4K"]
DEFAULT_AGENT = "fast"
Visualization = Literal["auto", "off"]
DEFAULT_VISUALIZATION: Visualization = "auto"
"""The API's own default: charts appear only where the question asks for them, so `auto` costs nothing
otherwise, and charts are kept (saved and linked in the report) when they do appear."""
DEFAULT_BASE_AGENT = Catalog.load().default_managed_agent
AgentBuiltinTool = Literal["code_execution", "google_search", "url_context"]
DEFAULT_PAGE_CHARS = 20_000
MAX_PAGE_CHARS = 100_000
MAX_WAIT_SECONDS = 50
"""Longest wait of one poll: well under the 60 s after which the most impatient clients give up."""


class AskRequest(BaseModel):
    """One question for a model, with the settings the caller wants to change for this conversation."""

    model_config = CALL_TIME
    prompt: str
    conversation: str | None = None
    model: str | None = None
    system_instruction: str | None = None
    files: list[str] = Field(default_factory=list)
    tools: list[str] | None = None
    """Built-in tools, `workspace`, `mcp:NAME` and `mcp:NAME/TOOL` entries."""
    thinking_level: ThinkingLevel | None = None
    response_schema: dict[str, Any] | None = None
    response_format: dict[str, Any] | list[dict[str, Any]] | None = None
    """The output's shape for this call only (images and their size); wins over `response_schema`."""
    file_search_stores: list[str] = Field(default_factory=list)
    """Full store names, already checked to be the caller's: searched by this call only."""


class ImageRequest(BaseModel):
    model_config = CALL_TIME
    prompt: str
    files: list[str] = Field(default_factory=list)
    conversation: str | None = None
    model: str | None = None
    aspect_ratio: str | None = None
    image_size: ImageSize | None = None


class SpeechRequest(BaseModel):
    model_config = CALL_TIME
    text: str
    voice: str | None = None
    speakers: dict[str, str] | None = None
    model: str | None = None
    language: str | None = None
    style: str | None = None


class ResearchRequest(BaseModel):
    model_config = CALL_TIME
    query: str
    agent: str = DEFAULT_AGENT
    conversation: str | None = None
    files: list[str] = Field(default_factory=list)
    file_search_stores: list[str] = Field(default_factory=list)
    collaborative_planning: bool = False
    visualization: Visualization = DEFAULT_VISUALIZATION
    mcp_servers: list[str] = Field(default_factory=list)
    """Names of --mcp-config servers configured `via: gemini` (`name` or `name/tool`)."""


class RepositorySource(BaseModel):
    type: Literal["repository"] = "repository"
    source: str = Field(description="e.g. https://github.com/owner/repo")
    target: str = Field("/workspace/repo")


class InlineSource(BaseModel):
    type: Literal["inline"] = "inline"
    content: str
    target: str = Field(description="e.g. /workspace/notes.txt")


class McpServerTool(BaseModel):
    type: Literal["mcp_server"] = "mcp_server"
    url: str
    name: str | None = Field(None, pattern=r"^[^-]+$")
    headers: dict[str, str] | None = None


class BaseEnvironment(BaseModel):
    sources: list[RepositorySource | InlineSource] = Field(default_factory=list)
    network: Literal["disabled"] | list[str] | None = Field(
        None, description="'disabled' or the domains it may reach, e.g. ['*.python.org']."
    )

    def wire(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": "remote"}
        if self.sources:
            body["sources"] = [s.model_dump(exclude_none=True) for s in self.sources]
        if self.network == "disabled":
            body["network"] = "disabled"
        elif self.network:
            body["network"] = {"allowlist": [{"domain": d} for d in self.network]}
        return body


class AgentSpec(BaseModel):
    model_config = CALL_TIME
    id: str
    base_agent: str = DEFAULT_BASE_AGENT
    description: str | None = None
    system_instruction: str | None = None
    tools: list[AgentBuiltinTool | McpServerTool] = Field(default_factory=list)
    base_environment: BaseEnvironment | None = None


class AgentRunRequest(BaseModel):
    model_config = CALL_TIME
    agent: str | None = None  # None: the conversation's agent, else the Antigravity agent
    input: str
    files: list[str] = Field(default_factory=list)
    conversation: str | None = None
    environment: str | None = None
    tools: list[str] | None = None
    """`workspace`, `mcp:NAME`, `mcp:NAME/TOOL`: what the agent may call through this server (None:
    what the conversation kept)."""
