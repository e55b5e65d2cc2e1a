"""What the services hand back to the tools: each call's result and the parts results share (saved
media, sources, the calls a turn made), plus the user's answer to a call that needs confirmation.

Their own module, apart from the services that make them, because the tools' published output schemas
are derived from them: registering the tools (and so answering the first `tools/list`) then loads this
and pydantic, not the Gemini client, the state store or the services (tests/test_layers.py pins it).
"""

from __future__ import annotations

import enum
import time
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from gemini_interactions_mcp.state import ConversationRecord

UsageFigures = dict[str, int | float]
"""Usage as a result shows it: the state's `UsageCounts` (tokens as ints, `cost_usd` a float), written
out rather than imported so that this module loads without the state package."""
MediaKind = Literal["image", "audio", "video", "file"]
"""`file`: anything else saved for the caller, e.g. a file downloaded from an agent's sandbox."""
CALL_TIME = ConfigDict(defer_build=True)
"""Config of a model used only once a call runs: its validator is built then, not at start-up."""


class Approval(enum.Enum):
    APPROVED = "approved"
    DENIED = "denied"
    CANNOT_ASK = "cannot ask"
    """The client has no elicitation."""
    UNATTENDED = "unattended"
    """Nobody waits for the turn: its loop went on in the background past the caller's wait."""
    PENDING = "pending"
    """Asked, answered only when the client retries its request (2026-07-28 multi-round-trip)."""


class Citation(BaseModel):
    title: str
    url: str


class SavedMedia(BaseModel):
    """One saved output file, as the tools show it (no bytes: those are in the file and the resource)."""

    id: str
    uri: str
    kind: MediaKind
    mime_type: str
    size: int
    name: str
    path: str | None = None
    """Where the file is, on stdio; None over HTTP (read the resource instead)."""
    width: int | None = None
    height: int | None = None
    seconds: float | None = None


class AnswerPart(BaseModel):
    """A piece of an answer in order: text, or a saved media file."""

    text: str | None = None
    media: SavedMedia | None = None


class CallRecord(BaseModel):
    """One call Gemini made in a turn, as the result lists it."""

    name: str
    seconds: float
    ok: bool
    error: str | None = None


class PausedLoop(BaseModel):
    """A turn stopped for the user's answers (AwaitingUser): where it goes on when the client retries."""

    model_config = CALL_TIME
    conversation: str
    interaction_id: str
    """The interaction whose function calls wait (the conversation's head while they do)."""
    rounds: int
    calls: list[CallRecord]
    """The calls of the turn so far, listed again in its final result."""


class TurnResult(BaseModel):
    """The outcome of one turn, shaped for the tool result."""

    model_config = CALL_TIME
    text: str
    conversation: str
    name: str | None
    interaction_id: str
    model: str
    status: str
    turn: int
    usage: UsageFigures
    conversation_usage: UsageFigures = Field(default_factory=dict)
    """The conversation's totals after this turn (tokens and estimated cost)."""
    notes: list[str]
    data: Any = None
    calls: list[CallRecord] = Field(default_factory=list)
    """Every tool Gemini called in this turn through this server."""
    paused: PausedLoop | None = Field(default=None, exclude=True)
    """Set when the turn stopped for the user's answers, which come with the client's retry."""
    media: list[SavedMedia] = Field(default_factory=list)
    sources: list[Citation] = Field(default_factory=list)
    parts: list[AnswerPart] = Field(default_factory=list, exclude=True)
    """The answer in order (text and saved media) when it holds media; empty for text-only answers."""


class PollResult(BaseModel):
    """What one poll returns: status, what is new since the caller's last poll, and a page of output."""

    model_config = CALL_TIME
    interaction_id: str
    kind: str
    status: str
    done: bool
    elapsed_seconds: float
    progress: list[str] = Field(default_factory=list)
    output: str | None = None
    offset: int = 0
    next_offset: int | None = None
    total_chars: int = 0
    citations: list[Citation] = Field(default_factory=list)
    usage: UsageFigures = Field(default_factory=dict)
    conversation_usage: UsageFigures = Field(default_factory=dict)
    """The totals of the conversation the job belongs to, once the job is done (tokens and cost)."""
    environment_id: str | None = None
    conversation: str | None = None
    resource: str
    error: str | None = None


class ConversationSummary(BaseModel):
    id: str
    name: str | None
    model: str | None
    turns: int
    updated: str
    preview: str

    @classmethod
    def of(cls, record: ConversationRecord) -> ConversationSummary:
        updated = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record.updated))
        return cls(
            id=record.id,
            name=record.name,
            model=record.model or record.agent,
            turns=record.turns,
            updated=updated,
            preview=record.preview,
        )


class ConversationRecap(BaseModel):
    """A conversation and its latest turns (prompt, answer) from the local copy, to pick it up again."""

    model_config = CALL_TIME
    summary: ConversationSummary
    first_turn: int
    latest: list[tuple[str, str]]


class ResearchStarted(BaseModel):
    model_config = CALL_TIME
    interaction_id: str
    status: str
    agent: str
    conversation: str
    resource: str
    poll_after_seconds: int
    notes: list[str]


class PlanOffer(BaseModel):
    """A finished plan the user has not been asked about yet, and the question to ask."""

    model_config = CALL_TIME
    interaction_id: str
    question: str


class SpeechResult(BaseModel):
    model_config = CALL_TIME
    interaction_id: str
    model: str
    status: str
    voices: dict[str, str]
    usage: UsageFigures = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)
    media: list[SavedMedia] = Field(default_factory=list)
    parts: list[AnswerPart] = Field(default_factory=list, exclude=True)
