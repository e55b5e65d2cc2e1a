"""The create-interaction request body (section 4.1), validated before anything is sent."""

from __future__ import annotations

from typing import Annotated, Any, Self

from pydantic import Discriminator, Tag, model_validator

from gemini_interactions_mcp.gemini.models._open import OpenModel
from gemini_interactions_mcp.gemini.models.content import CONTENT_TYPES, Content
from gemini_interactions_mcp.gemini.models.steps import Step
from gemini_interactions_mcp.gemini.models.tools import Tool


def _input_kind(value: Any) -> str:
    """Content blocks by their type; everything else (steps, unknown types) as a step."""
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return "content" if kind in CONTENT_TYPES else "step"


InputItem = Annotated[
    Annotated[Step, Tag("step")] | Annotated[Content, Tag("content")],
    Discriminator(_input_kind),
]
"""One element of a list `input`: a Step (history, function results) or a bare Content block."""


class GenerationConfig(OpenModel):
    temperature: float | None = None
    top_p: float | None = None
    seed: int | None = None
    max_output_tokens: int | None = None
    stop_sequences: list[str] | None = None
    thinking_level: str | None = None
    thinking_summaries: str | None = None
    tool_choice: str | dict[str, Any] | None = None
    speech_config: list[dict[str, Any]] | dict[str, Any] | None = None
    image_config: dict[str, Any] | None = None


class CreateInteraction(OpenModel):
    """A model interaction (`model`) or an agent interaction (`agent`), never both.

    `input` is a string, one Content block, or a list of Steps / Content blocks; lists are sent as
    given (the SDK's rewrap of a Content list into a user_input step is not needed by the API).
    """

    model: str | None = None
    agent: str | None = None
    input: str | list[InputItem] | InputItem | None = None
    previous_interaction_id: str | None = None
    system_instruction: str | None = None
    tools: list[Tool] | None = None
    generation_config: GenerationConfig | None = None
    agent_config: dict[str, Any] | None = None
    response_format: dict[str, Any] | list[dict[str, Any]] | None = None
    stream: bool | None = None
    store: bool | None = None
    background: bool | None = None
    environment: str | dict[str, Any] | None = None
    continuation_token: str | None = None
    safety_settings: list[dict[str, Any]] | None = None
    labels: dict[str, str] | None = None
    service_tier: str | None = None
    webhook_config: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _model_xor_agent(self) -> Self:
        if (self.model is None) == (self.agent is None):
            raise ValueError("give exactly one of `model` and `agent`")
        if self.agent is not None and self.generation_config is not None:
            raise ValueError("`generation_config` applies to models only; agents take `agent_config`")
        if self.model is not None and self.agent_config is not None:
            raise ValueError("`agent_config` applies to agents only")
        return self
