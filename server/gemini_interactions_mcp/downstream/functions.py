"""What Gemini can call: a function's declaration and rules, and what one call gives back.

Both kinds of callable share these shapes: the workspace functions (run in this process) and the tools of
the user's MCP servers (run by them). The loop that drives calls only ever sees these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

RESULT_CAP_CHARS = 100_000
"""Text of one function result beyond this is cut (with a note), so one tool cannot flood the context."""


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

    def capped(self, limit: int = RESULT_CAP_CHARS) -> CallOutcome:
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
