"""Reading text out of steps and content, and the small prompt conventions the responders honour.

Token counts are estimated at four characters per token, which is close enough to the real tokenizer
for usage figures to look plausible in client tests and demos.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from typing import Any

_THINK = re.compile(r"\[\[think\s+([0-9]*\.?[0-9]+)\s*\]\]", re.IGNORECASE)
_FACT = re.compile(r"\bmy ([a-z][a-z0-9 _-]{0,40}?) is (.+?)(?=\s+and\s+|[.?!,;\n]|$)", re.IGNORECASE)
_QUESTION = re.compile(r"\bwhat(?:'s| is) my ([a-z][a-z0-9 _-]{0,40}?)\s*\?", re.IGNORECASE)
_URL = re.compile(r"https?://[^\s\"'<>)\]]+")


def content_texts(content: Any) -> list[str]:
    """Text of every `text` block in a content list (other block kinds carry no text)."""
    if not isinstance(content, list):
        return []
    return [c["text"] for c in content if isinstance(c, dict) and c.get("type") == "text" and "text" in c]


def function_results(steps: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every function result given: `function_result` steps, and `function_result` blocks inside a
    `user_input` step's content (both forms reach the real service)."""
    found: list[dict[str, Any]] = []
    for step in steps:
        if step.get("type") == "function_result":
            found.append(step)
        elif step.get("type") == "user_input" and isinstance(step.get("content"), list):
            found += [
                b for b in step["content"] if isinstance(b, dict) and b.get("type") == "function_result"
            ]
    return found


def step_texts(step: dict[str, Any]) -> list[str]:
    """All text a step carries (function results included), for token counting."""
    kind = step.get("type")
    if kind == "user_input":
        return content_texts(step.get("content")) + [
            result_text(r.get("result")) for r in function_results([step])
        ]
    if kind == "model_output":
        return content_texts(step.get("content"))
    if kind == "thought":
        return content_texts(step.get("summary"))
    if kind == "function_result":
        return [result_text(step.get("result"))]
    return []


def text_chars(steps: Iterable[dict[str, Any]]) -> int:
    """Characters of text the model reads in `steps` (what a token estimate counts)."""
    return sum(len(text) for step in steps for text in step_texts(step))


def user_texts(steps: Iterable[dict[str, Any]]) -> list[str]:
    """All text the user wrote (not function results), oldest first."""
    return [t for s in steps if s.get("type") == "user_input" for t in content_texts(s.get("content"))]


def newest_user_text(steps: list[dict[str, Any]]) -> str:
    """Text of the last `user_input` step (the prompt of this turn), or "" when there is none."""
    for step in reversed(steps):
        if step.get("type") == "user_input":
            return "\n".join(content_texts(step.get("content")))
    return ""


def result_text(result: Any) -> str:
    """A function result (string, content list or object) flattened into one line of text."""
    if isinstance(result, str):
        return result
    if isinstance(result, list):
        return " ".join(content_texts(result))
    if isinstance(result, dict):
        inner = result.get("content")
        if isinstance(inner, list) and content_texts(inner):
            return " ".join(content_texts(inner))
        return json.dumps(result, sort_keys=True)
    return str(result)


_CALL = re.compile(r"\[\[call\s+([A-Za-z_][A-Za-z0-9_.:/-]*)\s*", re.IGNORECASE)
_CLOSE = re.compile(r"\s*\]\]")


def parse_calls(text: str) -> tuple[list[tuple[str, dict[str, Any]]], str]:
    """The `[[call NAME {json arguments}]]` directives (the arguments may be left out), in order, and the
    text without them. ValueError names a directive that is not of that form."""
    decoder = json.JSONDecoder()
    calls: list[tuple[str, dict[str, Any]]] = []
    kept: list[str] = []
    position = 0
    while (match := _CALL.search(text, position)) is not None:
        kept.append(text[position : match.start()])
        arguments: Any = {}
        end = match.end()
        if text.startswith("{", end):
            try:
                arguments, end = decoder.raw_decode(text, end)
            except ValueError as err:
                raise ValueError(
                    f"the arguments of [[call {match.group(1)} ...]] are not valid JSON: {err}"
                ) from None
        close = _CLOSE.match(text, end)
        if close is None or not isinstance(arguments, dict):
            raise ValueError(
                f"write [[call {match.group(1)} {{...JSON object...}}]] (the arguments are an object)"
            )
        calls.append((match.group(1), arguments))
        position = close.end()
    kept.append(text[position:])
    return calls, " ".join("".join(kept).split()) if calls else text


_BLOCKED = "[[blocked]]"


def is_blocked(text: str) -> bool:
    """The `[[blocked]]` directive: the turn ends the way a safety block does (status `failed`)."""
    return _BLOCKED in text.lower()


def parse_think(text: str) -> tuple[float | None, str]:
    """The `[[think N]]` directive (seconds the run should take) and the text without it."""
    match = _THINK.search(text)
    if match is None:
        return None, text.strip()
    stripped = _THINK.sub("", text)
    return float(match.group(1)), " ".join(stripped.split())


def facts(texts: Iterable[str]) -> dict[str, str]:
    """Every "my <key> is <value>" statement, later statements overriding earlier ones."""
    found: dict[str, str] = {}
    for text in texts:
        for match in _FACT.finditer(text):
            key = " ".join(match.group(1).lower().split())
            if key.startswith("what "):
                continue
            found[key] = match.group(2).strip()
    return found


def asked_keys(text: str) -> list[str]:
    """Keys the user asks about with "what is my <key>?"."""
    return [" ".join(m.group(1).lower().split()) for m in _QUESTION.finditer(text)]


def urls(text: str) -> list[str]:
    return _URL.findall(text)


def tokens(text: str) -> int:
    """Estimated token count (about four characters per token, at least one for non-empty text)."""
    return tokens_of(len(text))


def tokens_of(chars: int) -> int:
    """Estimated token count of `chars` characters of text (see `tokens`)."""
    return math.ceil(chars / 4) if chars else 0
