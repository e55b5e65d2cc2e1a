"""Function results as Gemini gets them: text cut past its cap, media past its cap left out, with notes."""

from __future__ import annotations

import base64

from gemini_interactions_mcp.downstream.functions import CallOutcome

MB = 2**20


def image(size: int) -> dict[str, str]:
    return {"type": "image", "data": base64.b64encode(b"\0" * size).decode(), "mime_type": "image/png"}


def test_media_past_the_cap_is_left_out_with_a_note() -> None:
    first, second, third = image(600 * 1024), image(600 * 1024), image(300 * 1024)
    outcome = CallOutcome([{"type": "text", "text": "three charts"}, first, second, third])
    capped = outcome.capped(media_limit=MB)
    note = "image/png of 0.6 MB left out: a result carries at most 1 MB of media"
    assert capped.result == [
        {"type": "text", "text": "three charts"},
        first,
        {"type": "text", "text": f"[{note}]"},
        third,
    ]
    assert capped.notes == [note]


def test_media_under_the_cap_and_short_text_come_back_untouched() -> None:
    outcome = CallOutcome([{"type": "text", "text": "a chart"}, image(600 * 1024)])
    assert outcome.capped(media_limit=MB) is outcome


def test_text_and_media_caps_apply_together() -> None:
    outcome = CallOutcome([{"type": "text", "text": "x" * 50}, image(2 * MB)], is_error=True)
    capped = outcome.capped(limit=20, media_limit=MB)
    assert capped.is_error
    assert [b["text"] for b in capped.result] == [
        "x" * 20,
        "[image/png of 2.0 MB left out: a result carries at most 1 MB of media]",
        "[result cut to 20 of 50 characters]",
    ]
    assert capped.notes == [
        "result cut to 20 of 50 characters",
        "image/png of 2.0 MB left out: a result carries at most 1 MB of media",
    ]
