"""Typed wire models of the Interactions API, all open to unknown types and fields."""

from gemini_interactions_mcp.gemini.models._open import OpenModel
from gemini_interactions_mcp.gemini.models.agents import Agent, AgentPage
from gemini_interactions_mcp.gemini.models.content import (
    Annotation,
    Content,
    MediaContent,
    TextContent,
    UnknownAnnotation,
    UnknownContent,
    UrlCitation,
)
from gemini_interactions_mcp.gemini.models.events import (
    Delta,
    ErrorEvent,
    InteractionCompletedEvent,
    InteractionCreatedEvent,
    InteractionEvent,
    InteractionStatusUpdateEvent,
    OtherDelta,
    StepDeltaEvent,
    StepStartEvent,
    StepStopEvent,
    TextDelta,
    ThoughtSummaryDelta,
    UnknownEvent,
)
from gemini_interactions_mcp.gemini.models.interaction import TERMINAL_STATUSES, Interaction, Usage
from gemini_interactions_mcp.gemini.models.request import CreateInteraction, GenerationConfig
from gemini_interactions_mcp.gemini.models.steps import (
    FunctionCallStep,
    FunctionResultStep,
    ModelOutputStep,
    Step,
    ThoughtStep,
    ToolCallStep,
    ToolResultStep,
    UnknownStep,
    UserInputStep,
)
from gemini_interactions_mcp.gemini.models.tools import Tool, UnknownTool

__all__ = [
    "TERMINAL_STATUSES",
    "Agent",
    "AgentPage",
    "Annotation",
    "Content",
    "CreateInteraction",
    "Delta",
    "ErrorEvent",
    "FunctionCallStep",
    "FunctionResultStep",
    "GenerationConfig",
    "Interaction",
    "InteractionCompletedEvent",
    "InteractionCreatedEvent",
    "InteractionEvent",
    "InteractionStatusUpdateEvent",
    "MediaContent",
    "ModelOutputStep",
    "OpenModel",
    "OtherDelta",
    "Step",
    "StepDeltaEvent",
    "StepStartEvent",
    "StepStopEvent",
    "TextContent",
    "TextDelta",
    "ThoughtStep",
    "ThoughtSummaryDelta",
    "Tool",
    "ToolCallStep",
    "ToolResultStep",
    "UnknownAnnotation",
    "UnknownContent",
    "UnknownEvent",
    "UnknownStep",
    "UnknownTool",
    "UrlCitation",
    "Usage",
    "UserInputStep",
]
