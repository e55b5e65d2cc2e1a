"""`output_text` against the SDK's own four vectors (test_integration.py, test_output_text_across_steps)."""

from __future__ import annotations

from typing import Any

import pytest

from gemini_interactions_mcp.gemini import Interaction, output_text


def _text(value: str) -> dict[str, Any]:
    return {"type": "model_output", "content": [{"type": "text", "text": value}]}


def _thought(signature: str) -> dict[str, Any]:
    """As the SDK writes it: a thought carries a text summary, which is never answer text."""
    return {
        "type": "thought",
        "signature": signature,
        "summary": [{"type": "text", "text": f"summary {signature}"}],
    }


_CALL = {
    "type": "function_call",
    "id": "call_1",
    "name": "get_weather",
    "arguments": {"city": "Mountain View"},
}
_RESULT = {"type": "function_result", "call_id": "call_1", "name": "get_weather", "result": "Sunny"}

VECTORS = [
    pytest.param(
        [
            _thought("a"),
            _text("First part. "),
            _thought("b"),
            _text("Second part. "),
            {"type": "model_output"},
            _text("Third part."),
            _thought("c"),
        ],
        "First part. Second part. Third part.",
        id="long_decode_multi_step",
    ),
    pytest.param(
        [
            _text("Before tool call. "),
            _CALL,
            _RESULT,
            _thought("a"),
            _text("Final part 1. "),
            _thought("b"),
            _text("Final part 2."),
            {**_CALL, "id": "call_trailing"},
        ],
        "Final part 1. Final part 2.",
        id="tool_boundary",
    ),
    pytest.param(
        [
            _text("Previous turn. "),
            {"type": "user_input", "content": [{"type": "text", "text": "Next question"}]},
            _thought("a"),
            _text("A"),
            _thought("b"),
            _text("B"),
        ],
        "AB",
        id="user_input_boundary",
    ),
    pytest.param(
        [
            {
                "type": "model_output",
                "content": [
                    {"type": "text", "text": "X"},
                    {"type": "image", "data": "aW1hZ2U=", "mime_type": "image/png"},
                ],
            },
            _thought("a"),
            _text("Y"),
        ],
        "Y",
        id="non_text_barrier",
    ),
]


@pytest.mark.parametrize(("steps", "expected"), VECTORS)
def test_output_text_sdk_vectors(steps: list[dict[str, Any]], expected: str) -> None:
    assert output_text(steps) == expected
    interaction = Interaction.model_validate({"id": "v1_123", "status": "completed", "steps": steps})
    assert output_text(interaction.steps) == expected
    assert interaction.output_text == expected


def test_no_text_is_none() -> None:
    assert output_text([]) is None
    assert output_text(None) is None
    assert output_text([_CALL]) is None
    assert Interaction.model_validate({"id": "x"}).output_text is None


@pytest.mark.parametrize(("steps", "expected"), VECTORS)
def test_output_text_agrees_with_the_sdk(steps: list[dict[str, Any]], expected: str) -> None:
    """The same vectors through the SDK's own Interaction model: both derive the same text."""
    sdk = pytest.importorskip("google.genai._gaos.types.interactions.interaction")
    payload = {"id": "v1_123", "status": "completed", "steps": steps}
    assert sdk.Interaction.model_validate(payload).output_text == expected == output_text(steps)
