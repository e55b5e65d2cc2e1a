"""The interaction resource (section 5) and its usage counters."""

from __future__ import annotations

from typing import Any

from pydantic import field_validator

from gemini_interactions_mcp.gemini.errors import REDACTED
from gemini_interactions_mcp.gemini.models._open import OpenModel
from gemini_interactions_mcp.gemini.models.steps import Step
from gemini_interactions_mcp.gemini.models.tools import McpServerTool, Tool
from gemini_interactions_mcp.gemini.output import output_text

# Polling stops here; `requires_action` / `requires_continuation` wait for the client instead.
TERMINAL_STATUSES = frozenset({"completed", "failed", "cancelled", "incomplete", "budget_exceeded"})


class ModalityTokens(OpenModel):
    modality: str | None = None
    tokens: int | None = None


class GroundingToolCount(OpenModel):
    type: str | None = None
    count: int | None = None


class Usage(OpenModel):
    total_input_tokens: int | None = None
    total_output_tokens: int | None = None
    total_thought_tokens: int | None = None
    total_cached_tokens: int | None = None
    total_tool_use_tokens: int | None = None
    total_tokens: int | None = None
    initial_input_tokens: int | None = None
    input_tokens_by_modality: list[ModalityTokens] | None = None
    output_tokens_by_modality: list[ModalityTokens] | None = None
    cached_tokens_by_modality: list[ModalityTokens] | None = None
    tool_use_tokens_by_modality: list[ModalityTokens] | None = None
    grounding_tool_count: list[GroundingToolCount] | None = None


class InteractionError(OpenModel):
    code: str | int | None = None
    message: str | None = None


class Interaction(OpenModel):
    """Parsed leniently, like the SDK: a body missing `status` (or even `id`) still parses.

    `status` is an open enum kept as a string. Echoed request settings not declared here
    (safety_settings, labels, webhook_config, ...) survive as extra fields.
    """

    id: str = ""
    object: str | None = None
    status: str | None = None
    model: str | None = None
    agent: str | None = None
    created: str | None = None
    updated: str | None = None
    steps: list[Step] | None = None
    usage: Usage | None = None
    previous_interaction_id: str | None = None
    system_instruction: str | None = None
    tools: list[Tool] | None = None
    generation_config: dict[str, Any] | None = None
    agent_config: dict[str, Any] | None = None
    response_format: dict[str, Any] | list[Any] | None = None
    environment: str | dict[str, Any] | None = None
    environment_id: str | None = None
    service_tier: str | None = None
    continuation_token: str | None = None
    errors: list[InteractionError] | None = None
    input: Any = None

    @field_validator("tools")
    @classmethod
    def _without_header_values(cls, tools: list[Tool] | None) -> list[Tool] | None:
        """Upstream echoes a stored interaction's `tools`, `mcp_server` headers included. Those are
        credentials, and nothing read back needs them, so they never reach a log, a result or an error."""
        for tool in tools or []:
            if isinstance(tool, McpServerTool) and tool.headers:
                tool.headers = {name: REDACTED for name in tool.headers}
        return tools

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def output_text(self) -> str | None:
        """The answer text as the SDK derives it (section 5.4); never sent on the wire."""
        return output_text(self.steps)
