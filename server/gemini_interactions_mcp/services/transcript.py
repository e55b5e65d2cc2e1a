"""The compact local copy of a conversation, and the text that rebuilds a thread from it.

Upstream keeps a conversation's history only as long as it keeps its interactions (1 day on the free
tier, 55 days on paid tiers). The local copy keeps what a rebuilt thread needs to carry on: each turn's
prompt, answer text and file names, each clipped, the newest turns first to go into a fixed budget, so a
stored conversation stays small however long it runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePath
from typing import Any
from urllib.parse import urlsplit

from gemini_interactions_mcp.state import Transcript, TranscriptTurn

TURN_TEXT_CHARS = 2_000
"""Cap of one prompt or one answer in the copy."""
TRANSCRIPT_CHARS = 12_000
"""Cap of the whole copy as stored (its JSON text): the oldest turns go first."""

TurnInput = str | list[dict[str, Any]]


def _clip(text: str, limit: int = TURN_TEXT_CHARS) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def file_label(reference: str) -> str:
    """What the copy keeps of a file: its name (a URL is kept whole, it names the file)."""
    return reference if urlsplit(reference).scheme in ("http", "https") else PurePath(reference).name


def with_turn(transcript: Transcript, prompt: str, answer: str, files: Sequence[str]) -> Transcript:
    """The copy with one more turn, trimmed from the oldest end to the budget."""
    turn = TranscriptTurn(
        prompt=_clip(prompt), answer=_clip(answer), files=[_clip(file_label(f), 200) for f in files]
    )
    return transcript.plus(turn, budget=TRANSCRIPT_CHARS)


def with_answer(transcript: Transcript, answer: str) -> Transcript:
    """The copy with the answer of its last turn filled in (a background turn's answer comes later)."""
    turns = transcript.turns()
    if not turns:
        return transcript
    *earlier, last = turns
    return with_turn(Transcript.of(earlier), last.prompt, answer, last.files)


def history_text(transcript: Transcript) -> str:
    """The earlier turns as one text block for the first input of a rebuilt thread."""
    lines = [
        "Earlier turns of this conversation (the server's local copy: the original thread is no longer "
        "available upstream). Continue from them:"
    ]
    for number, turn in enumerate(transcript.turns(), start=1):
        files = f" [files: {', '.join(turn.files)}]" if turn.files else ""
        lines.append(f"\n[turn {number}] User: {turn.prompt}{files}")
        lines.append(f"[turn {number}] Assistant: {turn.answer or '(no answer recorded)'}")
    return "\n".join(lines)


def with_history(turn_input: TurnInput, history: str) -> TurnInput:
    """The turn's input with the history block in front of its own content."""
    block = {"type": "text", "text": history}
    if isinstance(turn_input, str):
        return [{"type": "user_input", "content": [block, {"type": "text", "text": turn_input}]}]
    first, *rest = turn_input
    if first.get("type") != "user_input":
        return [{"type": "user_input", "content": [block]}, *turn_input]
    return [{**first, "content": [block, *first.get("content", [])]}, *rest]
