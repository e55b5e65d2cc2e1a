"""The answer of an interaction as the turn shows it: its model_output blocks after the last user input,
and the function calls it asks for, read from parsed steps or plain dicts alike."""

from __future__ import annotations

from typing import Any

from gemini_interactions_mcp.gemini import Interaction
from gemini_interactions_mcp.services.outputs import answer_blocks, answer_text
from gemini_interactions_mcp.services.turns import function_calls

STEPS: list[dict[str, Any]] = [
    {"type": "model_output", "content": [{"type": "text", "text": "an earlier turn"}]},
    {"type": "user_input", "content": [{"type": "text", "text": "draw it"}]},
    {"type": "thought", "signature": "s", "summary": [{"type": "text", "text": "thinking"}]},
    {"type": "model_output", "content": [{"type": "text", "text": "Here:"}]},
    {"type": "function_call", "id": "c1", "name": "look", "arguments": {"q": 1}},
    {"type": "hologram_call", "id": "h1"},
    {
        "type": "model_output",
        "content": [
            {"type": "image", "mime_type": "image/png", "data": "iVBO"},
            {"type": "text", "text": "done"},
        ],
    },
]


def test_the_answer_is_what_follows_the_last_user_input_from_models_or_dicts() -> None:
    parsed = Interaction.model_validate({"id": "v1_a", "status": "completed", "steps": STEPS}).steps
    for steps in (parsed, STEPS):
        blocks = answer_blocks(steps)
        assert blocks == [
            {"type": "text", "text": "Here:"},
            {"type": "image", "mime_type": "image/png", "data": "iVBO"},
            {"type": "text", "text": "done"},
        ]
        assert answer_text(blocks) == "Here:done"
    assert answer_blocks(None) == []


def test_function_calls_are_the_function_call_steps_only() -> None:
    interaction = Interaction.model_validate({"id": "v1_a", "status": "requires_action", "steps": STEPS})
    assert function_calls(interaction) == [
        {"type": "function_call", "id": "c1", "name": "look", "arguments": {"q": 1}}
    ]
