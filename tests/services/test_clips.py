"""Clip options in a file reference: parsed, applied to video and image blocks, refused elsewhere."""

from __future__ import annotations

import pytest

from gemini_interactions_mcp.services.clips import MediaOptions, split
from gemini_interactions_mcp.services.errors import ServiceError


def test_options_are_split_off_and_applied() -> None:
    ref, options = split("talks/keynote.mp4#t=10,30.5&fps=2&res=low")
    assert ref == "talks/keynote.mp4" and options == MediaOptions(start=10, end=30.5, fps=2, resolution="low")
    block = options.apply({"type": "video", "uri": "u", "mime_type": "video/mp4"}, "x")
    assert block["processing"] == {"type": "static", "fps": 2, "start_offset": "10s", "end_offset": "30.5s"}
    assert block["resolution"] == "low"
    assert split("clip.mp4#t=,20")[1] == MediaOptions(end=20)
    image = split("photo.png#res=high")[1]
    assert image is not None and image.apply({"type": "image", "data": "x"}, "p") == {
        "type": "image",
        "data": "x",
        "resolution": "high",
    }


@pytest.mark.parametrize("ref", ["notes#1.txt", "https://example.com/a.mp4#intro", "a#b=c"])
def test_a_hash_that_is_not_options_is_left_alone(ref: str) -> None:
    assert split(ref) == (ref, None)


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("a.mp4#t=30,10", "end after it starts"),
        ("a.mp4#t=ten", "not a number"),
        ("a.mp4#res=huge", "res must be one of"),
        ("a.mp4#fps=60", "at most 24"),
    ],
)
def test_bad_options_are_explained(ref: str, message: str) -> None:
    with pytest.raises(ServiceError, match=message):
        split(ref)


def test_clip_options_only_for_video() -> None:
    _, options = split("doc.pdf#t=1,2")
    assert options is not None
    with pytest.raises(ServiceError, match="apply to video"):
        options.apply({"type": "document", "data": "x"}, "doc.pdf#t=1,2")
