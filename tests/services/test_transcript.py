"""The compact local copy of a conversation: small whatever the conversation, newest turns kept."""

from __future__ import annotations

from gemini_interactions_mcp.services.transcript import (
    TRANSCRIPT_CHARS,
    TURN_TEXT_CHARS,
    history_text,
    with_answer,
    with_history,
    with_turn,
)
from gemini_interactions_mcp.state import Transcript


def test_a_long_conversation_keeps_its_newest_turns_within_the_budget() -> None:
    transcript = Transcript()
    for i in range(200):
        transcript = with_turn(transcript, f"question {i} " + "q" * 3000, "a" * 5000, [f"/home/me/f{i}.pdf"])
    assert len(transcript.json) <= TRANSCRIPT_CHARS
    turns = transcript.turns()
    assert len(turns) == len(transcript) > 1
    assert turns[-1].prompt.startswith("question 199") and len(turns[-1].answer) == TURN_TEXT_CHARS
    assert turns[-1].files == ["f199.pdf"]  # names, not paths
    assert turns[-2].prompt.startswith("question 198")


def test_one_huge_turn_is_still_kept() -> None:
    (turn,) = with_turn(Transcript(), "x" * 100_000, "y" * 100_000, ["https://example.com/a.pdf"]).turns()
    assert len(turn.prompt) == len(turn.answer) == TURN_TEXT_CHARS
    assert turn.files == ["https://example.com/a.pdf"]


def test_a_background_answer_is_filled_in_later() -> None:
    transcript = with_turn(with_turn(Transcript(), "one", "first", []), "two", "", ["a.txt"])
    filled = with_answer(transcript, "the report")
    assert [(t.prompt, t.answer, t.files) for t in filled.turns()] == [
        ("one", "first", []),
        ("two", "the report", ["a.txt"]),
    ]
    assert with_answer(Transcript(), "late") == Transcript()


def test_the_history_goes_in_front_of_the_turn_input() -> None:
    history = history_text(with_turn(Transcript(), "My city is Lisbon.", "Noted.", []))
    assert "My city is Lisbon." in history and "Noted." in history
    assert with_history("What is my city?", history) == [
        {
            "type": "user_input",
            "content": [{"type": "text", "text": history}, {"type": "text", "text": "What is my city?"}],
        }
    ]
    image = {"type": "image", "uri": "https://example.com/x.png"}
    turn = [{"type": "user_input", "content": [{"type": "text", "text": "Look"}, image]}]
    assert with_history(turn, history)[0]["content"] == [
        {"type": "text", "text": history},
        {"type": "text", "text": "Look"},
        image,
    ]
