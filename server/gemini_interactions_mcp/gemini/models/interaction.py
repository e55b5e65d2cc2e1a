"""The interaction resource (section 5) and its usage counters."""

from __future__ import annotations

from typing import Any

from gemini_interactions_mcp.gemini.models._open import OpenModel
from gemini_interactions_mcp.gemini.models.steps import Step
from gemini_interactions_mcp.gemini.models.tools import Tool

TERMINAL_STATUSES = frozenset({"completed", "failed", "cancelled", "incomplete", "budget_exceeded"})


class ModalityTokens(OpenModel):
    modality: str | None = None
    tokens: int | None = None


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


class InteractionError(OpenModel):
    code: str | int | None = None
    message: str | None = None


class Interaction(OpenModel):
    """Parsed leniently, like the SDK: a body missing `status` still parses."""

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
    environment_id: str | None = None
    continuation_token: str | None = None
    errors: list[InteractionError] | None = None
    input: Any = None

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES
