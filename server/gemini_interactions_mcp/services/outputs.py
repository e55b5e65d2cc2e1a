"""The whole answer of an interaction: every text and media block the model produced, in order.

The SDK's `output_text` keeps only the text after the last non-text block, so an image model's
"Here is your picture" before the picture, or every section of a report before its last chart, would
be lost. These helpers keep all of it. Streamed audio arrives as many small blocks; consecutive pieces
of one format are joined back into one.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

MEDIA_BLOCKS = frozenset({"image", "audio", "video"})


def _dump(obj: Any) -> dict[str, Any]:
    if isinstance(obj, BaseModel):
        return obj.model_dump(mode="json", by_alias=True, exclude_none=True)
    return dict(obj) if isinstance(obj, dict) else {}


def _kind(obj: Any) -> Any:
    """A step's `type`, as `_dump` would give it, without dumping it."""
    if isinstance(obj, BaseModel):
        return getattr(obj, "type", None)
    return obj.get("type") if isinstance(obj, dict) else None


def answer_blocks(steps: Sequence[Any] | None) -> list[dict[str, Any]]:
    """Text and media blocks of the model_output steps after the last user_input step, in order (only
    those steps are dumped: thoughts and tool calls are most of a long turn)."""
    listed = list(steps or [])
    kinds = [_kind(s) for s in listed]
    last_input = max((i for i, kind in enumerate(kinds) if kind == "user_input"), default=-1)
    blocks: list[dict[str, Any]] = []
    for raw, kind in zip(listed[last_input + 1 :], kinds[last_input + 1 :], strict=True):
        if kind != "model_output":
            continue
        step = _dump(raw)
        first = True
        for block in step.get("content") or []:
            if block.get("type") == "text" or block.get("type") in MEDIA_BLOCKS:
                if first and blocks and blocks[-1].get("type") == block.get("type") == "text":
                    # Text of a later step (after a tool call) starts a new paragraph, not mid-sentence.
                    block = {**block, "text": "\n\n" + str(block.get("text") or "")}
                _append(blocks, dict(block))
                first = False
    return blocks


def _append(blocks: list[dict[str, Any]], block: dict[str, Any]) -> None:
    """Add a block, joining a piece of streamed audio onto the previous piece of the same format."""
    previous = blocks[-1] if blocks else None
    same_audio = (
        previous is not None
        and block.get("type") == "audio" == previous.get("type")
        and all(block.get(k) == previous.get(k) for k in ("mime_type", "sample_rate", "channels"))
        and isinstance(block.get("data"), str)
        and isinstance(previous.get("data"), str)
    )
    if previous is not None and same_audio:
        try:
            joined = base64.b64decode(previous["data"]) + base64.b64decode(block["data"])
        except (binascii.Error, ValueError):
            blocks.append(block)
            return
        previous["data"] = base64.b64encode(joined).decode("ascii")
        return
    blocks.append(block)


def answer_text(blocks: Sequence[dict[str, Any]]) -> str:
    """All the answer's text, in order (media blocks contribute nothing)."""
    return "".join(str(b.get("text") or "") for b in blocks if b.get("type") == "text")
