"""Custom agents (section 12)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from gemini_interactions_mcp.gemini.models._open import OpenModel
from gemini_interactions_mcp.gemini.models.tools import Tool


class Agent(OpenModel):
    id: str = ""
    base_agent: str | None = None
    description: str | None = None
    system_instruction: str | None = None
    tools: list[Tool] | None = None
    base_environment: dict[str, Any] | str | None = None
    agent_config: dict[str, Any] | None = None


class AgentPage(OpenModel):
    agents: list[Agent] = Field(default_factory=list)
    next_page_token: str | None = None
