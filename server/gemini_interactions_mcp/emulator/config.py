"""Emulator settings: how long simulated work takes, and whether an API key is required.

Durations are configuration rather than constants because tests want sub-second runs while demos want
runs long enough to watch (and to outlast an MCP client's tool-call timeout).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

EventIds = Literal["background", "always", "never"]


class EmulatorConfig(BaseModel):
    """Runtime settings of one emulator instance (changeable later through `POST /_emulator/config`)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    api_key: str | None = Field(default=None, description="when set, API calls must present this key")
    research_seconds: float = Field(default=8.0, ge=0, description="duration of a Deep Research run")
    agent_seconds: float = Field(default=2.0, ge=0, description="duration of a managed agent run")
    model_seconds: float = Field(default=0.0, ge=0, description="default duration of a model run")
    step_delay: float = Field(
        default=0.01, ge=0, description="pause between streamed deltas while an interaction is running"
    )
    event_ids: EventIds = Field(
        default="background",
        description=(
            "which streams stamp an `event_id` on their events: 'background' (as the real service: "
            "only streams of background interactions), 'always' (every stream), or 'never'"
        ),
    )
    file_processing_seconds: float = Field(
        default=0.3, ge=0, description="how long an uploaded video or audio file stays PROCESSING"
    )
    indexing_seconds: float = Field(default=0.2, ge=0, description="how long File Search takes to index")
    file_ttl_seconds: float = Field(default=48 * 3600, gt=0, description="lifetime of an uploaded file")
