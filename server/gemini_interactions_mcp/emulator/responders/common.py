"""Pieces every responder needs: the turn context, usage figures, thought steps, cited text."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..config import EmulatorConfig
from ..history import History
from ..ids import signature
from ..plan import JSON
from ..text import text_chars, tokens, tokens_of
from ..validation import CreateRequest


@dataclass(frozen=True)
class TurnContext:
    """Everything a responder may look at; responders are pure functions of it."""

    request: CreateRequest
    history: History
    """Steps of earlier turns in the `previous_interaction_id` chain."""
    turn: int
    config: EmulatorConfig
    previous_kind: str | None = None
    system_instruction: str | None = None
    """Effective instruction (a custom agent's own one when the request has none)."""
    environment_id: str | None = None
    environment_files: list[str] = field(default_factory=list)
    documents: tuple[JSON, ...] = ()
    """Active documents of the File Search stores the request's `file_search` tools name."""


def input_tokens(ctx: TurnContext) -> int:
    """Tokens of everything the model would read: instruction, tool declarations, conversation."""
    chars = ctx.history.text_chars + text_chars(ctx.request.input_steps)
    extra = (ctx.system_instruction or "") + (json.dumps(ctx.request.tools) if ctx.request.tools else "")
    return max(1, tokens_of(chars) + tokens(extra))


def usage(
    input_count: int,
    output_count: int,
    thought_count: int = 0,
    tool_use_count: int = 0,
    grounding: list[JSON] | None = None,
) -> JSON:
    """A `usage` object with the section 5.3 fields, totals consistent with the parts."""
    body: JSON = {
        "total_input_tokens": input_count,
        "input_tokens_by_modality": [{"modality": "text", "tokens": input_count}],
        "total_cached_tokens": 0,
        "total_output_tokens": output_count,
        "total_thought_tokens": thought_count,
        "total_tool_use_tokens": tool_use_count,
        "total_tokens": input_count + output_count + thought_count + tool_use_count,
    }
    if grounding:
        body["grounding_tool_count"] = grounding
    return body


def thought(summary: str | None = None) -> JSON:
    """A thought step: always signed; its summary is only there when summaries were asked for."""
    step: JSON = {"type": "thought", "signature": signature()}
    if summary is not None:
        step["summary"] = [{"type": "text", "text": summary}]
    return step


class CitedText:
    """Text assembled piece by piece, with url_citation annotations at UTF-8 byte offsets."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._size = 0
        self.annotations: list[JSON] = []

    def add(self, text: str, *, url: str | None = None, title: str | None = None) -> None:
        start = self._size
        self._parts.append(text)
        self._size += len(text.encode())
        if url is not None:
            self.annotations.append(
                {
                    "type": "url_citation",
                    "url": url,
                    "title": title or url,
                    "start_index": start,
                    "end_index": self._size,
                }
            )

    @property
    def text(self) -> str:
        return "".join(self._parts)

    def block(self) -> JSON:
        block: JSON = {"type": "text", "text": self.text}
        if self.annotations:
            block["annotations"] = list(self.annotations)
        return block


def model_output(block: JSON) -> JSON:
    return {"type": "model_output", "content": [block]}


def tool_pair(kind: str, call_id: str, arguments: JSON, result: Any, **extra: Any) -> list[JSON]:
    """A server-side tool's `*_call` and `*_result` steps, paired by id."""
    call: JSON = {
        "type": f"{kind}_call",
        "id": call_id,
        "arguments": arguments,
        "signature": signature(),
        **extra,
    }
    done: JSON = {"type": f"{kind}_result", "call_id": call_id, "result": result, "is_error": False}
    done["signature"] = signature()
    return [call, done]


def text_of(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)
