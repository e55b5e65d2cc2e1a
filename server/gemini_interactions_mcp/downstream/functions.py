"""What Gemini can call: a function's declaration and rules, and what one call gives back.

Both kinds of callable share these shapes: the workspace functions (run in this process) and the tools of
the user's MCP servers (run by them). The loop that drives calls only ever sees these.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from mcp.types import (
    AudioContent,
    CallToolResult,
    EmbeddedResource,
    ImageContent,
    ResourceLink,
    TextContent,
    TextResourceContents,
)

from gemini_interactions_mcp.gemini.units import MIB, cap_mb, size_mb

RESULT_CAP_CHARS = 100_000
"""Text of one function result beyond this is cut (with a note), so one tool cannot flood the context."""
RESULT_MEDIA_CAP_BYTES = 20 * MIB
"""Images and audio of one function result beyond this are left out (with a note): Gemini takes 100 MB
per request in all, and one round may carry several results."""


@dataclass(frozen=True)
class FunctionSpec:
    """One function as declared to Gemini, and where a call to it goes."""

    name: str
    description: str
    parameters: dict[str, Any]
    server: str
    tool: str
    read_only: bool
    trusted: bool
    timeout_seconds: float
    notes: tuple[str, ...] = ()

    @property
    def needs_confirmation(self) -> bool:
        """Whether the user must approve each call (neither trusted nor declared read-only)."""
        return not (self.trusted or self.read_only)

    def declaration(self) -> dict[str, Any]:
        """The `function` tool entry of an interaction request."""
        return {
            "type": "function",
            "name": self.name,
            "description": self.description,
            "parameters": self.parameters,
        }


@dataclass
class CallOutcome:
    """What a call returned, as `function_result.result` content blocks (text, image, audio, ...)."""

    result: list[dict[str, Any]]
    is_error: bool = False
    notes: list[str] = field(default_factory=list)

    @classmethod
    def text(cls, text: str, *, is_error: bool = False) -> CallOutcome:
        return cls([{"type": "text", "text": text}], is_error=is_error)

    def capped(self, limit: int = RESULT_CAP_CHARS, media_limit: int = RESULT_MEDIA_CAP_BYTES) -> CallOutcome:
        """The outcome with its text cut to `limit` characters and its media kept to `media_limit` bytes
        in all, with a note for each cut."""
        return self._text_capped(limit)._media_capped(media_limit)

    def _text_capped(self, limit: int) -> CallOutcome:
        """The outcome with its text cut to `limit` characters in all, and a note saying so."""
        total = sum(len(block.get("text", "")) for block in self.result)
        if total <= limit:
            return self
        left = limit
        blocks: list[dict[str, Any]] = []
        for block in self.result:
            if "text" not in block:
                blocks.append(block)
                continue
            kept = block["text"][: max(0, left)]
            left -= len(kept)
            if kept:
                blocks.append({**block, "text": kept})
        note = f"[result cut to {limit:,} of {total:,} characters]"
        blocks.append({"type": "text", "text": note})
        return CallOutcome(blocks, self.is_error, [*self.notes, note.strip("[]")])

    def _media_capped(self, limit: int) -> CallOutcome:
        """The outcome with each media block that would take its media past `limit` bytes replaced by a
        note saying what was left out."""
        blocks: list[dict[str, Any]] = []
        notes: list[str] = []
        total = 0
        for block in self.result:
            data = block.get("data")
            size = len(data) * 3 // 4 if isinstance(data, str) else 0  # base64
            if size and total + size > limit:
                what = block.get("mime_type") or block.get("type")
                note = (
                    f"[{what} of {size_mb(size)} left out: a result carries at most {cap_mb(limit)} of media]"
                )
                blocks.append({"type": "text", "text": note})
                notes.append(note.strip("[]"))
                continue
            total += size
            blocks.append(block)
        if not notes:
            return self
        return CallOutcome(blocks, self.is_error, [*self.notes, *notes])


BLOCK_KINDS = {"image": "image", "audio": "audio", "video": "video", "application/pdf": "document"}


def _media_kind(mime: str) -> str | None:
    return BLOCK_KINDS.get(mime) or BLOCK_KINDS.get(mime.split("/", 1)[0])


def outcome_of(result: CallToolResult) -> CallOutcome:
    """An MCP tool result as function-result content: text as text, images and audio as media blocks
    (Gemini reads them, never as base64 text), resources inlined or linked, structured content as JSON
    when there is nothing else."""
    blocks: list[dict[str, Any]] = []
    for item in result.content:
        if isinstance(item, TextContent):
            blocks.append({"type": "text", "text": item.text})
        elif isinstance(item, ImageContent | AudioContent):
            blocks.append({"type": item.type, "data": item.data, "mime_type": item.mime_type})
        elif isinstance(item, EmbeddedResource):
            resource = item.resource
            if isinstance(resource, TextResourceContents):
                blocks.append({"type": "text", "text": f"[resource {resource.uri}]\n{resource.text}"})
                continue
            mime = resource.mime_type or "application/octet-stream"
            kind = _media_kind(mime)
            if kind is None:
                blocks.append(
                    {"type": "text", "text": f"[binary resource {resource.uri} ({mime}) not shown]"}
                )
            else:
                blocks.append({"type": kind, "data": resource.blob, "mime_type": mime})
        elif isinstance(item, ResourceLink):
            blocks.append({"type": "text", "text": f"[resource link {item.uri}: {item.name}]"})
    if not blocks and result.structured_content is not None:
        blocks.append({"type": "text", "text": json.dumps(result.structured_content, ensure_ascii=False)})
    if not blocks:
        blocks.append({"type": "text", "text": "(no output)"})
    return CallOutcome(blocks, is_error=bool(result.is_error))
