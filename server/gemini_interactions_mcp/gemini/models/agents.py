"""Custom agents (section 12): a base agent plus instructions, tools and an environment."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from gemini_interactions_mcp.gemini.models._open import OpenModel
from gemini_interactions_mcp.gemini.models.tools import Tool


class Agent(OpenModel):
    """`id` is chosen by the client (lowercase letters, digits, hyphens) and names the agent in
    `POST /interactions {"agent": id}`."""

    id: str = ""
    base_agent: str | None = None
    description: str | None = None
    system_instruction: str | None = None
    tools: list[Tool] | None = None
    base_environment: dict[str, Any] | str | None = None
    agent_config: dict[str, Any] | None = None


class AgentPage(OpenModel):
    """One page of `GET /agents`; pass `next_page_token` back for the next page (None at the end)."""

    agents: list[Agent] = Field(default_factory=list)
    next_page_token: str | None = None
