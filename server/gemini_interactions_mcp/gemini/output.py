"""`output_text`: the answer text of an interaction, derived exactly as the SDK derives it (section 5.4).

Walk the steps backwards; stop at a `user_input` step; skip `thought` steps; any other non-model_output
step ends the run once text collection has started; inside a model_output (walked backwards) collect
consecutive text blocks, a non-text block ending the run once collecting. Join in forward order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def _field(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def output_text(steps: Sequence[Any] | None) -> str | None:
    """The trailing run of answer text, or None when there is none (the SDK leaves the field absent)."""
    collected: list[str] = []
    collecting = False
    stopped = False
    for step in reversed(list(steps or [])):
        kind = _field(step, "type")
        if kind == "user_input":
            break
        if kind == "thought":
            continue
        if kind != "model_output":
            if collecting:
                break
            continue
        content = _field(step, "content")
        if not content:
            continue
        for block in reversed(list(content)):
            if _field(block, "type") == "text":
                text = _field(block, "text")
                collected.append(text if isinstance(text, str) else "")
                collecting = True
            elif collecting:
                stopped = True
                break
        if stopped:
            break
    text = "".join(reversed(collected))
    return text or None
