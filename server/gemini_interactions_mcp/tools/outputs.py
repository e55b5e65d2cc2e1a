"""What each tool returns as structured content: its published `outputSchema`, and what the SDK checks.

A tool declares its model as `Annotated[CallToolResult, Model]`: the SDK publishes the model's schema and
validates every successful result's structured content against it. Where the content is a service result
less the text the model already reads, the model is derived from the service's own (`without`), so the
two cannot drift apart.
"""

from __future__ import annotations

from typing import Any, get_args

from pydantic import BaseModel, create_model
from pydantic.fields import FieldInfo

from gemini_interactions_mcp.services.results import (
    ConversationSummary,
    PollResult,
    ResearchStarted,
    SpeechResult,
    TurnResult,
)


def _optional(field: FieldInfo) -> FieldInfo:
    """A field that may be None is also allowed to be absent (results leave empty fields out)."""
    if field.is_required() and type(None) in get_args(field.annotation):
        return FieldInfo.merge_field_infos(field, default=None)
    return field


def without(model: type[BaseModel], *names: str, title: str, **extra: Any) -> type[BaseModel]:
    """`model`'s dumped fields less `names` (carried by the text), plus `extra` (name=(type, default))."""
    fields: dict[str, Any] = {
        name: (field.annotation, _optional(field))
        for name, field in model.model_fields.items()
        if name not in names and not field.exclude
    }
    return create_model(title, **fields, **extra)


AskOutput = without(TurnResult, "text", title="AskOutput")
PollOutput = without(
    PollResult,
    "output",
    title="PollOutput",
    next_interaction_id=(str | None, None),  # set when an approved plan started the research
)
ResearchOutput = without(ResearchStarted, title="ResearchOutput")
SpeechOutput = without(SpeechResult, title="SpeechOutput")


class ConversationPage(BaseModel):
    conversations: list[ConversationSummary]
    next_offset: int | None


class ConversationChange(BaseModel):
    """rename and reset return the conversation; forget returns the id it removed."""

    conversation: ConversationSummary | None = None
    forgotten: str | None = None


class CancelOutput(BaseModel):
    interaction_id: str
    status: str


class FileStoreOutput(BaseModel):
    """create, get: store; list: stores; documents: documents (both paged by next_page_token); add: the
    job's interaction_id and status; delete, delete_document: deleted."""

    store: dict[str, Any] | None = None
    stores: list[dict[str, Any]] | None = None
    documents: list[dict[str, Any]] | None = None
    next_page_token: str | None = None
    interaction_id: str | None = None
    status: str | None = None
    deleted: str | None = None


class AgentOutput(BaseModel):
    """list: agents and next_page_token; create: agent and notes; get: agent; delete: deleted."""

    agents: list[dict[str, Any]] | None = None
    next_page_token: str | None = None
    agent: dict[str, Any] | None = None
    notes: list[str] | None = None
    deleted: str | None = None
