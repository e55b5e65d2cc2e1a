"""Previews small enough to put inline in a tool result: about 1 MB at most, base64 included.

The budget is for the whole result, shared by its previews, because a result travels as one message:
the MCP Python SDK's client refuses a server-sent event over 1 MiB, and base64 adds a third.

Generated images often exceed that (a 2K PNG weighs several megabytes, real outputs are JPEG or PNG),
so a larger image is scaled down and re-encoded as JPEG until it fits. That needs a JPEG and PNG codec,
hence Pillow, imported only when a preview actually needs it so start-up stays fast. Long speech is
previewed at a third of its sample rate; if even that is too big, there is no inline preview and the
resource link is the way to the audio.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from gemini_interactions_mcp.services.audio import downsampled

PREVIEW_BUDGET_BYTES = 700_000
"""Raw bytes of all previews of one result (about 930 KB as base64)."""
MIN_PREVIEW_BYTES = 40_000
FIRST_SIDE = 1536
SHRINK = 0.75
JPEG_QUALITY = 85
AUDIO_FACTOR = 3


@dataclass(frozen=True)
class Preview:
    data: bytes
    mime_type: str
    note: str | None = None
    """What was done to fit (for the result text), None when the original is shown."""


def share(count: int) -> int:
    """Each preview's part of the budget when a result shows `count` of them."""
    return max(MIN_PREVIEW_BYTES, PREVIEW_BUDGET_BYTES // max(1, count))


def image_preview(data: bytes, mime_type: str, limit: int = PREVIEW_BUDGET_BYTES) -> Preview | None:
    """The image itself when small enough, else a scaled-down JPEG under `limit`; None if undecodable."""
    if len(data) <= limit:
        return Preview(data, mime_type)
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as opened:
            image = opened.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError):
        return None
    original = image.size
    side = min(FIRST_SIDE, max(original))
    while side >= 16:
        scaled = image.copy()
        scaled.thumbnail((side, side))
        out = io.BytesIO()
        scaled.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
        if out.tell() <= limit:
            note = (
                f"preview scaled from {original[0]}x{original[1]} to {scaled.size[0]}x{scaled.size[1]} JPEG"
            )
            return Preview(out.getvalue(), "image/jpeg", note)
        side = int(side * SHRINK)
    return None


def audio_preview(data: bytes, mime_type: str, limit: int = PREVIEW_BUDGET_BYTES) -> Preview | None:
    """The audio itself when small enough; long WAV speech at a third of its rate; else None."""
    if len(data) <= limit:
        return Preview(data, mime_type)
    if mime_type != "audio/wav":
        return None
    smaller = downsampled(data, AUDIO_FACTOR)
    if smaller is None or len(smaller) > limit:
        return None
    return Preview(smaller, "audio/wav", f"preview at a 1/{AUDIO_FACTOR} sample rate")
